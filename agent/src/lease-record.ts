// The fence's memory across restarts: when the newest lease naming this side arrived, and that lease's length, in the state dir.
import { join } from "node:path";
import { formatIssues, MAX_LEASE_SECONDS, ROLES, type Role } from "../../protocol";
import * as z from "../../protocol/zod";
import { readTextFile, writeFileAtomic } from "./atomic-file";
import type { Logger } from "./log";

/** `<stateDir>/fence-lease.json`, mode 0600, written atomically (atomic-file.ts). */
export const LEASE_RECORD_FILE = "fence-lease.json";

/**
 * Most the recorded arrival may lag the newest one, ms. A lagging record only makes an agent restarted
 * while cut off fence EARLIER (and only when the standby does not answer either), never later; 10 s is
 * a third of the default 30 s lease, and at the default 5 s tick one write every other lease instead of
 * an fsync per tick. Shorter leases lag at most a third of their length (leaseRecordLagMs).
 */
export const LEASE_RECORD_MAX_LAG_MS = 10_000;

/** Largest record read, bytes: one is about 100; anything far larger was not written by this agent. */
const MAX_RECORD_BYTES = 4_096;

/** The lag allowed for a lease of `leaseSeconds` (s), ms: a third of the lease, at most LEASE_RECORD_MAX_LAG_MS. */
export function leaseRecordLagMs(leaseSeconds: number): number {
	return Math.min(LEASE_RECORD_MAX_LAG_MS, (leaseSeconds * 1000) / 3);
}

const LeaseRecordSchema = z.object({
	format: z.literal(1),
	/** The agent's configured pair name when it was written. */
	pair: z.string().check(z.minLength(1), z.maxLength(64)),
	/** The agent's configured side when it was written; the arrival is of a lease naming this side active. */
	side: z.enum(ROLES),
	/** When the newest lease naming `side` active arrived, ms since the epoch on this agent's clock. */
	arrivedAt: z.number().check(z.int(), z.minimum(0), z.maximum(1e15)),
	/**
	 * The length of the lease that arrived at `arrivedAt`, s (the watchdog's leaseSeconds then). Never
	 * the length of a lease naming another side or nobody: that says nothing about how long this side
	 * may serve, and a longer one would stretch a restarted fence past the watchdog's wait.
	 */
	leaseSeconds: z.number().check(z.int(), z.minimum(1), z.maximum(MAX_LEASE_SECONDS)),
});
export type LeaseRecord = z.infer<typeof LeaseRecordSchema>;

/** What the state dir holds, read once at start. */
export type RecordRead =
	| { readonly kind: "found"; readonly record: LeaseRecord }
	| { readonly kind: "missing" }
	/** A valid record written for another pair or side: says nothing about leases naming this one. */
	| { readonly kind: "other"; readonly record: LeaseRecord }
	| { readonly kind: "unreadable"; readonly message: string };

/**
 * Where the fence counts from until this run's first lease naming this side arrives:
 * - "recorded": from `arrivedAt` (ms, this clock), with the recorded `leaseSeconds` (s);
 * - "start": nothing recorded for this pair and side, so the start counts as holding a lease of the
 *   default length (safe only because of what the watchdog assumes then: see Fence's `heldSince`);
 * - "run-out": a record exists but cannot be trusted (unreadable, or ahead of this clock): the lease
 *   counts as already run out, `why` says so.
 */
export type FenceStart =
	| { readonly kind: "recorded"; readonly arrivedAt: number; readonly leaseSeconds: number }
	| { readonly kind: "start" }
	| { readonly kind: "run-out"; readonly why: string; readonly leaseSeconds: number | null };

/**
 * Pure: what a record read at `now` (ms, this clock) means for the fence. A recorded arrival ahead of
 * `now` means the clock stepped back since, by an unknown amount: counting from `now` would count the
 * time before the step twice (a full lease from this start, the fault this record exists to close), so
 * the lease counts as run out.
 */
export function fenceStart(read: RecordRead, now: number): FenceStart {
	switch (read.kind) {
		case "found": {
			const { arrivedAt, leaseSeconds } = read.record;
			if (arrivedAt <= now) return { kind: "recorded", arrivedAt, leaseSeconds };
			return {
				kind: "run-out",
				why: `the recorded lease arrived ${((arrivedAt - now) / 1000).toFixed(1)} s ahead of this clock: it stepped back`,
				leaseSeconds,
			};
		}
		case "missing":
		case "other":
			return { kind: "start" };
		case "unreadable":
			return { kind: "run-out", why: read.message, leaseSeconds: null };
		default:
			return read satisfies never;
	}
}

/** Reads `file` and judges it for this pair and side. Never throws: a bad file is a value. */
export async function readLeaseRecord(
	file: string,
	who: { pair: string; side: Role },
): Promise<RecordRead> {
	const read = await readTextFile(file, { stateFile: { maxBytes: MAX_RECORD_BYTES } });
	if (!read.ok) {
		return read.missing
			? { kind: "missing" }
			: { kind: "unreadable", message: `cannot read ${file}: ${read.message}` };
	}
	let json: unknown;
	try {
		json = JSON.parse(read.text);
	} catch (error) {
		return {
			kind: "unreadable",
			message: `${file} is not valid JSON (${(error as Error).message})`,
		};
	}
	const parsed = LeaseRecordSchema.safeParse(json);
	if (!parsed.success) {
		return {
			kind: "unreadable",
			message: `${file} is not a lease record this agent understands: ${formatIssues(parsed.error.issues, "(record)").join("; ")}`,
		};
	}
	const record = parsed.data;
	if (record.pair !== who.pair || record.side !== who.side) return { kind: "other", record };
	return { kind: "found", record };
}

export interface LeaseRecorderOptions {
	/** The agent's state dir (config.stateDir); it exists by the time the recorder opens. */
	dir: string;
	pair: string;
	side: Role;
	now: () => number;
	log: Logger;
	/** Replaces the atomic write (tests count, delay or fail writes). */
	write?: (path: string, data: string) => Promise<void>;
}

interface Facts {
	readonly arrivedAt: number;
	readonly leaseSeconds: number;
}

/**
 * Keeps LEASE_RECORD_FILE up to date with the leases naming this side that this agent keeps, so a
 * restarted agent's fence counts from the lease the watchdog counts from (worker/src/fencing-wait.ts),
 * not from its own start. Each write is the arrival and length of one such lease, and leases naming
 * another side or nobody are never recorded (a later one naming the standby must not stretch this
 * side's fence). Writes only in the safe direction: a lease with a new length at once, a new arrival
 * once the record lags by leaseRecordLagMs (a lagging arrival of a lease of the same length fences
 * earlier, never later); a failed write is retried at the next lease. One write at a time, the newest
 * facts last.
 */
export class LeaseRecorder {
	readonly file: string;
	readonly #o: LeaseRecorderOptions;
	readonly #write: (path: string, data: string) => Promise<void>;
	/** The facts the file holds, as far as this run knows (null: none of ours). */
	#onDisk: Facts | null;
	#inFlight: Facts | null = null;
	#next: Facts | null = null;
	/** The newest lease naming this side noted, or recorded (null before one, when none was recorded). */
	#newest: Facts | null;
	#draining: Promise<void> | null = null;
	#lastProblem: string | null = null;

	private constructor(o: LeaseRecorderOptions, found: Facts | null) {
		this.#o = o;
		this.file = join(o.dir, LEASE_RECORD_FILE);
		this.#write = o.write ?? ((path, data) => writeFileAtomic(path, data));
		this.#onDisk = found;
		this.#newest = found;
	}

	/**
	 * Reads the record, logs what the fence will count from (a warning with what to do when the record is
	 * unusable), and returns the recorder and the fence's starting point. Never throws for a bad file:
	 * the agent starts, and the fence stays on the safe side.
	 */
	static async open(
		o: LeaseRecorderOptions,
	): Promise<{ recorder: LeaseRecorder; start: FenceStart }> {
		const file = join(o.dir, LEASE_RECORD_FILE);
		const read = await readLeaseRecord(file, { pair: o.pair, side: o.side });
		const now = o.now();
		const start = fenceStart(read, now);
		const found = read.kind === "found" && start.kind === "recorded" ? start : null;
		switch (start.kind) {
			case "recorded":
				o.log.info("fence: counting from the lease recorded before this start", {
					file,
					arrivedAgoMs: now - start.arrivedAt,
					leaseSeconds: start.leaseSeconds,
				});
				break;
			case "start":
				if (read.kind === "missing") {
					o.log.info("fence: no lease recorded yet, a full lease counts from this start", { file });
				} else if (read.kind === "other") {
					o.log.warn("fence: lease record ignored, it is for another pair or side", {
						file,
						recorded: `${read.record.pair}/${read.record.side}`,
						configured: `${o.pair}/${o.side}`,
						what: "nothing to do: the next lease naming this side replaces it; until then a full lease counts from this start",
					});
				}
				break;
			case "run-out":
				o.log.warn("fence: lease record not usable, the lease counts as already run out", {
					file,
					why: start.why,
					effect:
						"until the watchdog's next lease arrives, this primary stops its gateway as soon as the standby does not answer either",
					what:
						read.kind === "unreadable"
							? `nothing if it heals: the next lease rewrites it; if this repeats, make ${o.dir} writable by the agent's user, or move the file aside`
							: "check NTP (timedatectl); the next lease rewrites the record",
				});
				break;
			default:
				start satisfies never;
		}
		return { recorder: new LeaseRecorder(o, found), start };
	}

	/**
	 * A lease was kept (LeaseHolder.onNewLease) at `arrivedAt` (ms, this clock). Only one naming this
	 * side counts, with its own length; any other is ignored (the watchdog has moved on: its length is
	 * not this side's).
	 */
	note(lease: { active: Role | null; leaseSeconds: number }, arrivedAt: number): void {
		if (lease.active !== this.#o.side) return;
		const want: Facts = { arrivedAt, leaseSeconds: lease.leaseSeconds };
		this.#newest = want;
		const base = this.#next ?? this.#inFlight ?? this.#onDisk;
		const lag = base === null ? Number.POSITIVE_INFINITY : want.arrivedAt - base.arrivedAt;
		// lag < 0: the clock stepped back since the record; the record follows the clock it is read with.
		if (
			base === null ||
			base.leaseSeconds !== want.leaseSeconds ||
			lag < 0 ||
			lag >= leaseRecordLagMs(want.leaseSeconds)
		) {
			this.#schedule(want);
		}
	}

	/** Writes the newest facts if the file lags them at all (on shutdown: a planned restart loses nothing). */
	async flush(): Promise<void> {
		const want = this.#newest;
		const base = this.#next ?? this.#inFlight ?? this.#onDisk;
		if (
			want !== null &&
			(base === null ||
				base.arrivedAt !== want.arrivedAt ||
				base.leaseSeconds !== want.leaseSeconds)
		) {
			this.#schedule(want);
		}
		await this.#draining;
	}

	#schedule(facts: Facts): void {
		this.#next = facts;
		this.#draining ??= this.#drain();
	}

	async #drain(): Promise<void> {
		while (this.#next !== null) {
			const facts = this.#next;
			this.#next = null;
			this.#inFlight = facts;
			const record: LeaseRecord = { format: 1, pair: this.#o.pair, side: this.#o.side, ...facts };
			try {
				await this.#write(this.file, `${JSON.stringify(record)}\n`);
				this.#onDisk = facts;
				this.#lastProblem = null;
			} catch (error) {
				// #onDisk stays as it was, so the next lease tries again.
				const message = (error as Error).message;
				if (message !== this.#lastProblem) {
					this.#lastProblem = message;
					this.#o.log.warn("fence: cannot record the lease", {
						file: this.file,
						error: message,
						effect:
							"a restart while cut off from the watchdog would count from the last record written: an older arrival (it fences earlier), but the old length if the watchdog changed it, or a full lease from its start when there is none",
						what: `make ${this.#o.dir} writable by the agent's user; retried at the next lease`,
					});
				}
			} finally {
				this.#inFlight = null;
			}
		}
		this.#draining = null;
	}
}
