// Follows a lab's pair while a scenario runs: state changes and new events as timeline lines, observations on demand.
import type { Lab, PairEventView } from "../../test/harness/lab";

export interface ObservationView {
	at: number;
	ok: boolean;
	status: number | null;
	ms: number;
	reason: string | null;
	standby: string | null;
	state: string;
}

export interface TimelineEntry {
	at: number;
	kind: "state" | "event";
	state: string;
	text: string;
	evidence: string[];
}

/** Polls the Worker's API every `everyMs` and reports what changed, in order. */
export class Watcher {
	readonly timeline: TimelineEntry[] = [];
	private lastState: string | null = null;
	private lastSeq = -1;
	private timer: ReturnType<typeof setInterval> | undefined;
	private inFlight: Promise<void> | undefined;

	constructor(
		private readonly lab: Lab,
		private readonly onEntry?: (e: TimelineEntry) => void,
	) {}

	start(everyMs = 250): void {
		this.timer = setInterval(() => {
			if (!this.inFlight) void this.poll().catch(() => {});
		}, everyMs);
	}

	stop(): void {
		if (this.timer) clearInterval(this.timer);
	}

	/** One poll at a time: a caller that wants the timeline up to date awaits the one in flight, then its own. */
	async poll(): Promise<void> {
		while (this.inFlight) await this.inFlight.catch(() => {});
		this.inFlight = this.pollOnce();
		try {
			await this.inFlight;
		} finally {
			this.inFlight = undefined;
		}
	}

	private async pollOnce(): Promise<void> {
		const [p, events] = await Promise.all([this.lab.pair(), this.lab.events(50)]);
		for (const e of events) {
			const seq = (e as PairEventView & { seq: number }).seq;
			if (seq <= this.lastSeq) continue;
			this.lastSeq = seq;
			this.push({
				at: e.at,
				kind: "event",
				state: e.to,
				text: `${e.kind}: ${e.summary}`,
				evidence: e.evidence.map((x) => `${x.witness}: ${x.saw}`),
			});
		}
		if (p.state !== this.lastState && p.state !== null) {
			this.lastState = p.state;
			this.push({
				at: Date.now(),
				kind: "state",
				state: p.state,
				text: `state ${p.state}${p.reason ? ` (${p.reason})` : ""}`,
				evidence: [],
			});
		}
	}

	private push(e: TimelineEntry): void {
		this.timeline.push(e);
		this.onEntry?.(e);
	}
}

/** The Worker's probe history, oldest first. */
export async function observations(lab: Lab, limit = 200): Promise<ObservationView[]> {
	const r = await lab.worker.api<{ observations: ObservationView[] }>(
		`/api/v1/pairs/home?observations=${limit}`,
		{ token: lab.adminToken },
	);
	if (r.status !== 200) throw new Error(`GET pair answered ${r.status}`);
	return [...r.body.observations].sort((a, b) => a.at - b.at);
}
