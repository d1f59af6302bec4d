// Counts rejected (unauthenticated) requests per source address, to answer repeat offenders with 429.

/** 10 rejects a minute: a misconfigured watchdog shows its real error first; a scanner is slowed at once. */
export const AUTH_FAILURE_LIMIT = 10;
export const AUTH_FAILURE_WINDOW_MS = 60_000;
/** Bound on tracked addresses, so a spray of sources cannot grow memory without limit. */
const MAX_SOURCES = 10_000;

interface Window {
	start: number;
	count: number;
}

export interface LimitState {
	limited: boolean;
	retryAfterMs: number;
	/** True exactly once per window: when the limit was crossed (log it once, not per request). */
	justTripped: boolean;
}

export class AuthFailureLimiter {
	readonly #windows = new Map<string, Window>();
	readonly #limit: number;
	readonly #windowMs: number;

	constructor(options: { limit?: number; windowMs?: number } = {}) {
		this.#limit = options.limit ?? AUTH_FAILURE_LIMIT;
		this.#windowMs = options.windowMs ?? AUTH_FAILURE_WINDOW_MS;
	}

	/** Records one failure from `source` and says whether that source is now over the limit. */
	recordFailure(source: string, now: number): LimitState {
		let window = this.#windows.get(source);
		if (window === undefined || now - window.start >= this.#windowMs) {
			window = { start: now, count: 0 };
			this.#windows.delete(source);
			this.#evict(now);
			this.#windows.set(source, window);
		}
		window.count++;
		const limited = window.count > this.#limit;
		return {
			limited,
			retryAfterMs: limited ? window.start + this.#windowMs - now : 0,
			justTripped: window.count === this.#limit + 1,
		};
	}

	#evict(now: number): void {
		if (this.#windows.size < MAX_SOURCES) return;
		for (const [source, window] of this.#windows) {
			if (now - window.start >= this.#windowMs) this.#windows.delete(source);
		}
		// Still full of live windows: drop the oldest (Map keeps insertion order).
		while (this.#windows.size >= MAX_SOURCES) {
			const oldest = this.#windows.keys().next().value;
			if (oldest === undefined) break;
			this.#windows.delete(oldest);
		}
	}
}
