// One HTTP readiness probe with a deadline, judged by the shared probe spec; failures come back as values, never exceptions.
import { classifyAnswer, DEFAULT_EXPECT_BODY, DEFAULT_EXPECT_STATUS } from "../../protocol";
import { httpGet, type ReadyFetch, readyBodyText } from "./http-get";
import { stopwatch } from "./stopwatch";

export type ReadyProbe =
	| { ok: true; status: number; ms: number }
	| {
			ok: false;
			reason: "timeout" | "connect-error" | "http-status" | "body-mismatch";
			status?: number;
			ms: number;
			detail?: string;
	  };

export interface ProbeOptions {
	timeoutMs: number;
	/** Defaults to {@link httpGet}; tests pass a fake fetch. */
	fetch?: ReadyFetch;
	/** Expected status and body substring (protocol/probe-spec.ts); default 200 and `"ready":true`. */
	expectStatus?: number;
	expectBody?: string;
}

/**
 * Ready means the expected status (200) with the expected body (`"ready":true`), the same rule the
 * Worker applies (protocol/probe-spec.ts). Redirects are not followed: a 3xx is reported with its status.
 */
export async function probeReady(url: string, options: ProbeOptions): Promise<ReadyProbe> {
	const doFetch = options.fetch ?? httpGet;
	const spec = {
		expectStatus: options.expectStatus ?? DEFAULT_EXPECT_STATUS,
		expectBody: options.expectBody ?? DEFAULT_EXPECT_BODY,
	};
	const stopped = stopwatch();
	const elapsed = () => Math.round(stopped());
	try {
		const response = await doFetch(url, {
			signal: AbortSignal.timeout(options.timeoutMs),
			redirect: "manual",
			headers: { "user-agent": "failover-agent" },
		});
		const status = response.status;
		if (status !== spec.expectStatus || spec.expectBody === "") {
			// The body decides nothing here; cancelling frees the connection at once.
			await response.body?.cancel().catch(() => {});
			if (classifyAnswer(spec, status, undefined).class === "up")
				return { ok: true, status, ms: elapsed() };
			return { ok: false, reason: "http-status", status, ms: elapsed() };
		}
		const body = await readyBodyText(response);
		if (classifyAnswer(spec, status, body).class === "up")
			return { ok: true, status, ms: elapsed() };
		return {
			ok: false,
			reason: "body-mismatch",
			status,
			ms: elapsed(),
			detail: `body does not contain ${JSON.stringify(spec.expectBody)}`,
		};
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
