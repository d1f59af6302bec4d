// Shared test data for the notifier tests: events, hostile text, a fake network and a fake clock.
import type { PairEvent } from "../../../worker/src/types";

export const T0 = Date.UTC(2026, 4, 17, 12, 30, 0);

export function event(over: Partial<PairEvent> = {}): PairEvent {
	return {
		kind: "promoting",
		severity: "critical",
		at: T0,
		from: "primary-active",
		to: "promoting",
		term: 4,
		summary: "Primary not ready for 3 probes and the standby agrees.",
		evidence: [
			{ witness: "worker", saw: "GET /readyz timed out after 2500 ms (3 in a row)" },
			{ witness: "standby", saw: "primary probe failed 4 times: connect-error" },
		],
		next: "Check the primary VPS; the standby is taking over.",
		notify: true,
		...over,
	};
}

/** Text that tries every injection the providers know: markdown, HTML, Slack control sequences, mentions. */
export const HOSTILE =
	'*bold* _it_ ~s~ `code` <b>x</b> <!channel> <@U123> @everyone [link](https://evil.example.test) & "q" # h > quote | pipe';

export interface Captured {
	url: string;
	method: string;
	headers: Headers;
	body: string;
}

/** A fetch that records each request and answers with `answer(req, n)` (n: 1-based call number). */
export function fakeFetch(
	answer: (req: Captured, n: number, signal?: AbortSignal) => Promise<Response> | Response,
): {
	fetch: typeof fetch;
	calls: Captured[];
} {
	const calls: Captured[] = [];
	const f = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
		const req: Captured = {
			url: typeof input === "string" ? input : input instanceof URL ? input.href : input.url,
			method: init?.method ?? "GET",
			headers: new Headers(init?.headers),
			body: typeof init?.body === "string" ? init.body : "",
		};
		calls.push(req);
		if (
			!req.url.startsWith("https://hooks.example.test/") &&
			!req.url.startsWith("http://127.0.0.1")
		) {
			throw new Error(`test tried a real host: ${req.url}`);
		}
		return answer(req, calls.length, init?.signal ?? undefined);
	};
	return { fetch: f as typeof fetch, calls };
}

/** Never answers; rejects like a real fetch when the request's deadline aborts it. */
export function hang(signal?: AbortSignal): Promise<Response> {
	return new Promise((_, reject) => {
		if (!signal) return;
		if (signal.aborted) reject(signal.reason);
		signal.addEventListener("abort", () => reject(signal.reason));
	});
}

/** A clock that only moves when sleep() is called, and records every wait. */
export function fakeClock(start = T0): {
	now: () => number;
	sleep: (ms: number) => Promise<void>;
	sleeps: number[];
} {
	let t = start;
	const sleeps: number[] = [];
	return {
		now: () => t,
		sleep: async (ms) => {
			sleeps.push(ms);
			t += ms;
		},
		sleeps,
	};
}
