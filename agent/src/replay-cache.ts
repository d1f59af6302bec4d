// Nonces of accepted requests, persisted so a restart does not reopen the replay window.
import { join } from "node:path";
import { z } from "zod";
import { readTextFile, writeFileAtomic } from "./atomic-file";

export const NONCE_FILE = "nonces.json";

/**
 * Bound on remembered nonces. The watchdog sends about one signed request per 5 s, so a 60 s window
 * holds a dozen; 10 000 only fills if a key holder floods us, and then refusing is the right answer.
 */
export const MAX_NONCES = 10_000;

const NonceFileSchema = z.object({
	format: z.literal(1),
	nonces: z.array(z.tuple([z.string(), z.number()])),
});

export type Claim = "fresh" | "replayed" | "full";

export class ReplayCache {
	readonly #file: string;
	/** nonce -> the request's own timestamp (ms). */
	readonly #seen: Map<string, number>;
	readonly #retainMs: number;
	readonly #max: number;
	/** Requests signed before this time are refused: set when the nonce file was damaged. */
	readonly #notBefore: number;
	#inflight: Promise<void> = Promise.resolve();
	#queued: Promise<void> | null = null;

	private constructor(
		file: string,
		seen: Map<string, number>,
		retainMs: number,
		max: number,
		notBefore: number,
	) {
		this.#file = file;
		this.#seen = seen;
		this.#retainMs = retainMs;
		this.#max = max;
		this.#notBefore = notBefore;
	}

	/**
	 * A request is only accepted while |now - timestamp| <= maxSkewMs, so its nonce must be remembered at
	 * least until timestamp + maxSkewMs. We keep it for twice that, so a clock stepped back a little
	 * cannot revive a forgotten nonce.
	 */
	static async open(
		dir: string,
		options: { maxSkewMs: number; now: number; max?: number },
	): Promise<ReplayCache> {
		const file = join(dir, NONCE_FILE);
		const seen = new Map<string, number>();
		let notBefore = 0;
		const read = await readTextFile(file);
		if (read.ok) {
			try {
				const parsed = NonceFileSchema.parse(JSON.parse(read.text));
				for (const [nonce, ts] of parsed.nonces) seen.set(nonce, ts);
			} catch {
				// The remembered nonces are lost, so no request signed before now can be proven fresh:
				// refuse those (the watchdog signs every request anew) rather than refuse to start.
				notBefore = options.now;
			}
		} else if (!read.missing) {
			// There but unreadable (permissions, I/O error): as lost as a damaged file, never "no nonces yet".
			notBefore = options.now;
		}
		return new ReplayCache(file, seen, 2 * options.maxSkewMs, options.max ?? MAX_NONCES, notBefore);
	}

	get size(): number {
		return this.#seen.size;
	}

	/** Records the nonce and persists it before answering "fresh": a crash cannot forget an accepted nonce. */
	async claim(nonce: string, timestamp: number, now: number): Promise<Claim> {
		if (this.#seen.has(nonce) || timestamp < this.#notBefore) return "replayed";
		this.#prune(now);
		if (this.#seen.size >= this.#max) return "full";
		this.#seen.set(nonce, timestamp);
		await this.#save();
		return "fresh";
	}

	#prune(now: number): void {
		for (const [nonce, ts] of this.#seen) {
			if (Math.abs(now - ts) > this.#retainMs) this.#seen.delete(nonce);
		}
	}

	#save(): Promise<void> {
		if (this.#queued !== null) return this.#queued;
		const next = this.#inflight.then(() => {
			this.#queued = null;
			const body = { format: 1, nonces: [...this.#seen] };
			return writeFileAtomic(this.#file, `${JSON.stringify(body)}\n`);
		});
		this.#queued = next;
		this.#inflight = next.catch(() => {});
		return next;
	}
}
