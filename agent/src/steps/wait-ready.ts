// The wait-ready step: polls the local gateway's readiness URL until it answers 200, or fails at its deadline.
import { setTimeout as sleep } from "node:timers/promises";
import { httpGet, type ReadyFetch } from "../http-get";
import type { Step } from "./schema";
import type { StepContext, StepOutcome } from "./types";

type WaitReadyStep = Extract<Step, { type: "wait-ready" }>;

/** One readiness request never waits longer than this: a gateway that slow is not ready, and the next poll retries. */
export const READY_REQUEST_TIMEOUT_MS = 2_000;

type Probe = { readonly ok: true } | { readonly ok: false; readonly reason: string };

export async function runWaitReady(step: WaitReadyStep, ctx: StepContext): Promise<StepOutcome> {
	const now = ctx.now ?? Date.now;
	const doFetch = ctx.fetch ?? httpGet;
	const url = step.url ?? ctx.readyUrl;
	const shown = redact(url);
	const started = now();
	const parsed = URL.parse(url);
	if (parsed === null || !/^https?:$/.test(parsed.protocol)) {
		return failed(0, `invalid readiness URL ${shown}: expected an absolute http(s) URL`, 0);
	}
	if (parsed.username !== "" || parsed.password !== "") {
		// fetch refuses such URLs anyway; saying so at once beats polling until the deadline.
		return failed(0, `invalid readiness URL ${shown}: credentials in the URL are not supported`, 0);
	}
	const deadline = started + step.timeoutMs;
	let attempts = 0;
	let last = "no request was made";

	for (;;) {
		if (ctx.signal?.aborted) {
			return failed(
				now() - started,
				`aborted while waiting for ${shown} (last: ${last})`,
				attempts,
			);
		}
		const attemptAt = now();
		const remaining = deadline - attemptAt;
		if (remaining <= 0) break;
		attempts++;
		const probe = await probeOnce(
			doFetch,
			url,
			Math.min(READY_REQUEST_TIMEOUT_MS, remaining),
			ctx.signal,
		);
		if (probe.ok) {
			return {
				status: "succeeded",
				ms: now() - started,
				output: `${shown} answered 200 after ${attempts} attempt(s)`,
			};
		}
		last = probe.reason.replaceAll(url, shown);
		// Polls start every intervalMs, so a slow answer does not stretch the interval.
		const wait = Math.min(attemptAt + step.intervalMs, deadline) - now();
		if (wait > 0) await sleep(wait, undefined, { signal: ctx.signal }).catch(() => undefined);
	}
	return failed(
		now() - started,
		`${shown} not ready after ${step.timeoutMs} ms; last: ${last}`,
		attempts,
	);
}

function failed(ms: number, error: string, attempts: number): StepOutcome {
	return { status: "failed", ms, output: `${attempts} attempt(s)`, error };
}

async function probeOnce(
	doFetch: ReadyFetch,
	url: string,
	timeoutMs: number,
	outer: AbortSignal | undefined,
): Promise<Probe> {
	const deadline = AbortSignal.timeout(timeoutMs);
	const signal = outer === undefined ? deadline : AbortSignal.any([outer, deadline]);
	try {
		const res = await doFetch(url, { signal, redirect: "manual", headers: { accept: "*/*" } });
		// Release the connection; the body of a readiness answer is not needed.
		await res.body?.cancel().catch(() => undefined);
		return res.status === 200 ? { ok: true } : { ok: false, reason: `http ${res.status}` };
	} catch (error) {
		if (outer?.aborted) return { ok: false, reason: "aborted" };
		if (deadline.aborted) return { ok: false, reason: `timeout after ${timeoutMs} ms` };
		return { ok: false, reason: describeFetchError(error) };
	}
}

/** Node's fetch hides the socket error in `cause`: surface its code (ECONNREFUSED, ENOTFOUND, ...). */
function describeFetchError(error: unknown): string {
	const cause = (error as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
	if (typeof cause?.code === "string") return `connect error: ${cause.code}`;
	if (typeof cause?.message === "string") return `request error: ${cause.message}`;
	return `request error: ${error instanceof Error ? error.message : String(error)}`;
}

/** Readiness URLs may carry a token in the query or credentials in the authority: never echo those. */
function redact(url: string): string {
	try {
		const u = new URL(url);
		return `${u.protocol}//${u.host}${u.pathname}`;
	} catch {
		return "(invalid url)";
	}
}
