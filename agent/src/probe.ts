// One HTTP readiness probe with a deadline; failures come back as values, never exceptions.
import { httpGet, type ReadyFetch } from "./http-get";

export type ReadyProbe =
	| { ok: true; status: number; ms: number }
	| {
			ok: false;
			reason: "timeout" | "connect-error" | "http-status";
			status?: number;
			ms: number;
			detail?: string;
	  };

export interface ProbeOptions {
	timeoutMs: number;
	/** Defaults to {@link httpGet}; tests pass a fake fetch. */
	fetch?: ReadyFetch;
}

/** Ready means HTTP 200 (OpenClaw's /readyz answers 503 while not ready). Redirects are not followed. */
export async function probeReady(url: string, options: ProbeOptions): Promise<ReadyProbe> {
	const doFetch = options.fetch ?? httpGet;
	const started = performance.now();
	const elapsed = () => Math.round(performance.now() - started);
	try {
		const response = await doFetch(url, {
			signal: AbortSignal.timeout(options.timeoutMs),
			redirect: "manual",
			headers: { "user-agent": "failover-agent" },
		});
		// The body is not needed; cancelling frees the connection at once.
		await response.body?.cancel().catch(() => {});
		if (response.status === 200) return { ok: true, status: 200, ms: elapsed() };
		return { ok: false, reason: "http-status", status: response.status, ms: elapsed() };
	} catch (error) {
		const err = error as Error & { cause?: { code?: string } };
		if (err.name === "TimeoutError" || err.name === "AbortError") {
			return { ok: false, reason: "timeout", ms: elapsed() };
		}
		return {
			ok: false,
			reason: "connect-error",
			ms: elapsed(),
			detail: err.cause?.code ?? err.message,
		};
	}
}
