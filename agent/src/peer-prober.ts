// The standby's own view of the primary: probes its readiness URL on an interval, keeps consecutive counts.
import type { PeerProbe } from "../../protocol";
import type { ReadyFetch } from "./http-get";
import type { Logger } from "./log";
import { probeReady } from "./probe";

export interface PeerProberOptions {
	url: string;
	intervalMs: number;
	timeoutMs: number;
	now: () => number;
	log: Logger;
	fetch?: ReadyFetch;
}

type Snapshot = Omit<PeerProbe, "ageMs">;

export class PeerProber {
	readonly #options: PeerProberOptions;
	#last: Snapshot | null = null;
	#timer: ReturnType<typeof setTimeout> | null = null;
	#stopped = true;

	constructor(options: PeerProberOptions) {
		this.#options = options;
	}

	/** Probes now, then `intervalMs` after each probe ends (probes never overlap). */
	start(): void {
		if (!this.#stopped) return;
		this.#stopped = false;
		void this.#loop();
	}

	stop(): void {
		this.#stopped = true;
		if (this.#timer !== null) clearTimeout(this.#timer);
		this.#timer = null;
	}

	/** The latest result with its age; null until the first probe has finished. */
	snapshot(now: number): PeerProbe | null {
		if (this.#last === null) return null;
		return { ...this.#last, ageMs: Math.max(0, Math.round(now - this.#last.checkedAt)) };
	}

	/** One probe, folded into the counts. Exposed for tests and for the first probe at start. */
	async probeOnce(): Promise<PeerProbe> {
		const { url, timeoutMs, now, log } = this.#options;
		const result = await probeReady(url, { timeoutMs, fetch: this.#options.fetch });
		const previous = this.#last;
		const next: Snapshot = {
			ok: result.ok,
			latencyMs: result.ms,
			consecutiveFailures: result.ok ? 0 : (previous?.consecutiveFailures ?? 0) + 1,
			consecutiveSuccesses: result.ok ? (previous?.consecutiveSuccesses ?? 0) + 1 : 0,
			checkedAt: now(),
		};
		if (!result.ok) {
			next.reason = result.reason;
			if (result.status !== undefined) next.status = result.status;
		} else {
			next.status = result.status;
		}
		// Log changes, not every probe: a probe every 2 s would flood the journal.
		if (previous === null || previous.ok !== next.ok) {
			const fields = { url, latencyMs: next.latencyMs, reason: next.reason, status: next.status };
			if (next.ok) log.info("primary probe ok", fields);
			else
				log.warn("primary probe failing", {
					...fields,
					detail: result.ok ? undefined : result.detail,
				});
		}
		this.#last = next;
		return this.snapshot(next.checkedAt) as PeerProbe;
	}

	async #loop(): Promise<void> {
		if (this.#stopped) return;
		await this.probeOnce();
		if (this.#stopped) return;
		this.#timer = setTimeout(() => void this.#loop(), this.#options.intervalMs);
		// The prober alone must not keep the process alive (the HTTP server does).
		this.#timer.unref?.();
	}
}
