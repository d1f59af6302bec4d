// Nonces of accepted requests, persisted so a restart, a clock step or a deleted file does not reopen the replay window.
import { join } from "node:path";
import * as z from "../../protocol/zod";
import { readTextFile, writeFileAtomic } from "./atomic-file";

export const NONCE_FILE = "nonces.json";
/**
 * Written once, on the agent's first start, and never removed: from then on a missing nonce file
 * means it was deleted (or lost), not that this is a new agent, and the cache fails closed.
 */
export const NONCE_MARKER_FILE = "nonces.initialised";

/**
 * Bound on remembered nonces. The watchdog sends about one signed request per 5 s, so a 60 s window
 * holds a dozen; 10 000 only fills if a key holder floods us, and then refusing is the right answer.
 */
export const MAX_NONCES = 10_000;

const NonceFileV1 = z.object({
	format: z.literal(1),
	nonces: z.array(z.tuple([z.string(), z.number()])),
});
const NonceFileV2 = z.object({
	format: z.literal(2),
	/** The newest signed timestamp accepted (ms): the cache's own clock, which never runs back. */
	newest: z.number(),
	/** Requests signed before this are refused (set after the nonces were lost). */
	notBefore: z.number(),
	nonces: z.array(z.tuple([z.string(), z.number()])),
});
const NonceFileSchema = z.union([NonceFileV1, NonceFileV2]);

export type Claim = "fresh" | "replayed" | "full";

/** Why the cache started closed, if it did: the nonces it remembered are gone. */
export type NonceLoss = "missing" | "damaged" | "unreadable";

export class ReplayCache {
	readonly #file: string;
	/** nonce -> the request's own signed timestamp (ms). */
	readonly #seen: Map<string, number>;
	readonly #windowMs: number;
	readonly #max: number;
	#newest: number;
	#notBefore: number;
	/** Set when the nonce file was lost since the last start (for the agent's start-up log). */
	readonly lost: NonceLoss | null;
	#inflight: Promise<void> = Promise.resolve();
	#queued: Promise<void> | null = null;

	private constructor(
		file: string,
		saved: { seen: Map<string, number>; newest: number; notBefore: number },
		windowMs: number,
		max: number,
		lost: NonceLoss | null,
	) {
		this.#file = file;
		this.#seen = saved.seen;
		this.#newest = saved.newest;
		this.#notBefore = saved.notBefore;
		this.#windowMs = windowMs;
		this.#max = max;
		this.lost = lost;
	}

	/**
	 * A request is only accepted while |now - timestamp| <= maxSkewMs. Freshness is judged against
	 * the signed timestamps themselves, not the local clock: a request signed more than 2 x maxSkewMs
	 * before the newest accepted one is refused, and a nonce is remembered exactly as long as its
	 * timestamp could still pass that test. So the agent's clock jumping forward and back cannot
	 * revive a forgotten nonce (it was forgotten only because its timestamp is below the floor).
	 * Twice the skew, so a second signer (an operator's `failover-agent call`) a little behind the
	 * Worker's clock is still accepted.
	 *
	 * Fails closed: a nonce file that is damaged, unreadable, or missing after the first start
	 * (NONCE_MARKER_FILE) makes every request signed before `now` count as replayed.
	 */
	static async open(
		dir: string,
		options: { maxSkewMs: number; now: number; max?: number },
	): Promise<ReplayCache> {
		const file = join(dir, NONCE_FILE);
		const marker = join(dir, NONCE_MARKER_FILE);
		const saved = { seen: new Map<string, number>(), newest: 0, notBefore: 0 };
		let lost: NonceLoss | null = null;
		// MAX_NONCES entries are about 0.5 MB: the cap only keeps a runaway file from being read whole.
		const read = await readTextFile(file, { stateFile: { maxBytes: 64 * 1024 * 1024 } });
		if (read.ok) {
			try {
				const parsed = NonceFileSchema.parse(JSON.parse(read.text));
				for (const [nonce, ts] of parsed.nonces) saved.seen.set(nonce, ts);
				saved.newest =
					parsed.format === 2 ? parsed.newest : Math.max(0, ...parsed.nonces.map(([, t]) => t));
				if (parsed.format === 2) saved.notBefore = parsed.notBefore;
			} catch {
				lost = "damaged";
			}
		} else if (!read.missing) {
			// There but unreadable (permissions, I/O error): as lost as a damaged file, never "no nonces yet".
			lost = "unreadable";
		} else {
			// An unreadable marker counts as present: fail closed.
			const m = await readTextFile(marker, { stateFile: { maxBytes: 4_096 } });
			if (m.ok || !m.missing) lost = "missing";
		}
		if (lost !== null) {
			// The remembered nonces are gone, so no request signed before now can be proven fresh:
			// refuse those (the watchdog signs every request anew) rather than refuse to start.
			saved.seen.clear();
			saved.notBefore = options.now;
			saved.newest = Math.max(saved.newest, options.now);
		}
		const cache = new ReplayCache(
			file,
			saved,
			2 * options.maxSkewMs,
			options.max ?? MAX_NONCES,
			lost,
		);
		// The floor is written at once, so a second restart before any request keeps it. Best effort:
		// a file that cannot be written fails the first claim instead, which refuses the request.
		if (lost !== null || !read.ok) await cache.#save().catch(() => {});
		await writeFileAtomic(marker, "the nonce file must exist from now on (replay-cache.ts)\n");
		return cache;
	}

	get size(): number {
		return this.#seen.size;
	}

	/**
	 * Records the nonce and persists it before answering "fresh": a crash cannot forget an accepted
	 * nonce. "replayed" also covers a timestamp below the floor (older than the newest accepted one
	 * by more than the window, or signed before the nonces were lost). `now` is not used: the
	 * caller has already checked the timestamp against the clock, and the cache must not depend on it.
	 */
	async claim(nonce: string, timestamp: number, _now?: number): Promise<Claim> {
		if (this.#seen.has(nonce)) return "replayed";
		if (timestamp < this.#notBefore || timestamp < this.#newest - this.#windowMs) return "replayed";
		const newest = Math.max(this.#newest, timestamp);
		this.#prune(newest);
		if (this.#seen.size >= this.#max) return "full";
		this.#seen.set(nonce, timestamp);
		this.#newest = newest;
		await this.#save();
		return "fresh";
	}

	/** Forgets only nonces whose timestamps the floor already refuses. */
	#prune(newest: number): void {
		for (const [nonce, ts] of this.#seen) {
			if (ts < newest - this.#windowMs) this.#seen.delete(nonce);
		}
	}

	#save(): Promise<void> {
		if (this.#queued !== null) return this.#queued;
		const next = this.#inflight.then(() => {
			this.#queued = null;
			const body = {
				format: 2,
				newest: this.#newest,
				notBefore: this.#notBefore,
				nonces: [...this.#seen],
			};
			return writeFileAtomic(this.#file, `${JSON.stringify(body)}\n`);
		});
		this.#queued = next;
		this.#inflight = next.catch(() => {});
		return next;
	}
}
