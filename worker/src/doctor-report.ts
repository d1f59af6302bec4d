// The shape of GET /api/v1/doctor's answer, shared by the Worker and `failover-gateway doctor`.

/** One check: what was checked, whether it passed, what was seen, and (when it failed) the fix in one line. */
export interface DoctorCheck {
	name: string;
	ok: boolean;
	detail: string;
	fix?: string;
}

/** One pair's verdict: `ok` only when every check passed, i.e. a failover would work now. */
export interface PairVerdict {
	pair: string;
	ok: boolean;
	checks: DoctorCheck[];
}

/** The whole answer: Worker-wide checks (config, secrets, notifiers) and one verdict per configured pair. */
export interface DoctorReport {
	ok: boolean;
	checks: DoctorCheck[];
	pairs: PairVerdict[];
}
