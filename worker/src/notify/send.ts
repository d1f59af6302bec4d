// Delivers one message to every notifier concurrently, with deadlines and bounded retries; never throws.
//
// Contract for the caller (the Watchdog Durable Object): run `sendAll` inside `ctx.waitUntil(...)`
// AFTER persisting state and issuing agent commands, and never await it on the failover path. It
// never rejects: every failure, including a bug in a formatter, comes back as a DeliveryResult with
// ok: false and an error already redacted of URLs, tokens and secrets, ready for status and logs.
// Worst case it settles within DELIVERY_BUDGET_MS, so it fits waitUntil's 30 s grace period.
import { ofetch } from "ofetch";
import { deadline } from "../deadline";
import { buildRequest, redact, secretsOf } from "./build-request";
import type { Notifier, NotifierKind } from "./config";
import type { NotifyMessage } from "./message";
import { fit, oneLine } from "./text";

/** Per request. Chat webhooks answer in well under a second; 5 s rides out a slow edge without hoarding the budget. */
export const REQUEST_TIMEOUT_MS = 5_000;
/** Retries after the first attempt (3 tries in all): enough for a blip or one 429, bounded for an endpoint that is down. */
export const MAX_RETRIES = 2;
/** Backoff before retry n is BACKOFF_BASE_MS * 2^(n-1): 1 s, then 2 s. One sender and a few endpoints: no herd to jitter. */
export const BACKOFF_BASE_MS = 1_000;
/** A Retry-After longer than this is not waited for: the attempt stops and reports it. */
export const MAX_RETRY_AFTER_MS = 10_000;
/** All attempts and waits for one notifier; below waitUntil's 30 s after the event ends. */
export const DELIVERY_BUDGET_MS = 25_000;
/** Bytes of a provider's response read at most: enough for its error JSON and Retry-After body. */
const MAX_RESPONSE_BYTES = 8 * 1024;
/** Characters of a provider's error response kept in the result (they explain a 400 or 403). */
export const ERROR_BODY_CHARS = 200;

/**
 * Text from outside (a provider's body, an exception) made safe to keep: secrets blanked FIRST, then
 * cut. Cutting first could leave half a token that no longer matches any secret, and half a Discord
 * or Telegram token is still most of a credential.
 */
export function safeErrorText(raw: string, secrets: readonly string[]): string {
	return fit(oneLine(redact(raw, secrets)), ERROR_BODY_CHARS);
}

export interface DeliveryResult {
	notifier: NotifierKind;
	ok: boolean;
	attempts: number;
	/** HTTP status of the last attempt, when there was a response. */
	status?: number;
	/** Why the last attempt failed; never contains a URL path, token or secret. */
	error?: string;
	/**
	 * On a failure: true when a later attempt may succeed (429, 5xx, timeout, network error), so the
	 * caller may keep the message in its outbox; false for an answer that will not change (400, 403, 404).
	 */
	transient?: boolean;
	/** The provider's retry hint from a 429 (Retry-After or the JSON body), ms from the last attempt. */
	retryAfterMs?: number;
}

export interface SendOptions {
	/** The network, injectable for tests. Default: the global fetch. */
	fetch?: typeof fetch;
	/** Clock, ms since epoch: webhook timestamps, Retry-After dates, the budget. */
	now?: () => number;
	/** How waits between attempts happen; tests pass one that advances a fake clock. */
	sleep?: (ms: number) => Promise<void>;
	timeoutMs?: number;
	retries?: number;
}

type Attempt =
	| { kind: "ok"; status: number }
	| { kind: "http"; status: number; detail: string; retryAfterMs?: number }
	| { kind: "timeout" }
	| { kind: "network"; detail: string };

function retryable(a: Attempt): boolean {
	switch (a.kind) {
		case "ok":
			return false;
		case "http":
			return a.status === 429 || a.status >= 500;
		case "timeout":
		case "network":
			return true;
	}
}

function describe(a: Attempt, timeoutMs: number): string {
	switch (a.kind) {
		case "ok":
			return "";
		case "http":
			return a.detail === "" ? `HTTP ${a.status}` : `HTTP ${a.status}: ${a.detail}`;
		case "timeout":
			return `timed out after ${timeoutMs} ms`;
		case "network":
			return `network error: ${a.detail}`;
	}
}

/** Retry-After (seconds or an HTTP date), or the JSON body's retry_after (Discord) / parameters.retry_after (Telegram). */
export function retryAfterMs(headers: Headers, body: string, nowMs: number): number | undefined {
	const h = headers.get("retry-after")?.trim();
	if (h !== undefined && h !== "") {
		if (/^\d+(\.\d+)?$/.test(h)) return Math.ceil(Number(h) * 1000);
		const at = Date.parse(h);
		if (!Number.isNaN(at)) return Math.max(0, at - nowMs);
	}
	try {
		const j = JSON.parse(body) as { retry_after?: unknown; parameters?: { retry_after?: unknown } };
		const s = j?.retry_after ?? j?.parameters?.retry_after;
		if (typeof s === "number" && Number.isFinite(s) && s >= 0) return Math.ceil(s * 1000);
	} catch {
		// Not JSON: no hint in the body.
	}
	return undefined;
}

async function attempt(
	client: typeof ofetch,
	req: { url: string; headers: Readonly<Record<string, string>>; body: string },
	timeoutMs: number,
	nowMs: number,
	secrets: readonly string[],
): Promise<Attempt> {
	// Cleared when done: a pending timer would keep the Durable Object awake.
	const dl = deadline(timeoutMs);
	const signal = dl.signal;
	try {
		const res = await client.raw(req.url, {
			method: "POST",
			headers: req.headers,
			body: req.body,
			signal,
			// Retries, timeouts and error handling are ours (injectable sleep, Retry-After cap, budget).
			retry: false,
			ignoreResponseError: true,
			// Read as a stream and only its head: a hostile endpoint cannot make us buffer an endless body.
			responseType: "stream",
		});
		const body = await readHead(res._data, MAX_RESPONSE_BYTES);
		if (res.status >= 200 && res.status < 300) return { kind: "ok", status: res.status };
		const after = res.status === 429 ? retryAfterMs(res.headers, body, nowMs) : undefined;
		return {
			kind: "http",
			status: res.status,
			detail: safeErrorText(body, secrets),
			...(after === undefined ? {} : { retryAfterMs: after }),
		};
	} catch (e) {
		if (signal.aborted) return { kind: "timeout" };
		const cause = (e as { cause?: unknown }).cause ?? e;
		const detail = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
		return { kind: "network", detail: safeErrorText(detail, secrets) };
	} finally {
		dl.clear();
	}
}

/** The first `max` bytes of a response body as text; the rest is never read (the stream is cancelled). */
async function readHead(stream: unknown, max: number): Promise<string> {
	if (!(stream instanceof ReadableStream)) return "";
	const reader = (stream as ReadableStream<Uint8Array>).getReader();
	const chunks: Uint8Array[] = [];
	let size = 0;
	try {
		while (size < max) {
			const { done, value } = await reader.read();
			if (done) break;
			chunks.push(value);
			size += value.byteLength;
		}
	} finally {
		reader.cancel().catch(() => {});
	}
	const all = new Uint8Array(Math.min(size, max));
	let at = 0;
	for (const c of chunks) {
		const part = c.subarray(0, all.length - at);
		all.set(part, at);
		at += part.length;
		if (at >= all.length) break;
	}
	return new TextDecoder().decode(all);
}

async function deliver(
	m: NotifyMessage,
	n: Notifier,
	client: typeof ofetch,
	o: Required<Omit<SendOptions, "fetch">>,
	secrets: readonly string[],
): Promise<DeliveryResult> {
	const start = o.now();
	let attempts = 0;
	for (;;) {
		attempts++;
		const req = await buildRequest(m, n, o.now());
		const a = await attempt(client, req, o.timeoutMs, o.now(), secrets);
		const status = a.kind === "ok" || a.kind === "http" ? { status: a.status } : {};
		if (a.kind === "ok") return { notifier: n.kind, ok: true, attempts, ...status };
		const hinted = a.kind === "http" ? a.retryAfterMs : undefined;
		const transient = retryable(a);
		const fail = (why: string): DeliveryResult => ({
			notifier: n.kind,
			ok: false,
			attempts,
			...status,
			error: why,
			transient,
			...(transient && hinted !== undefined ? { retryAfterMs: hinted } : {}),
		});
		const error = describe(a, o.timeoutMs);
		if (!transient) return fail(error);
		if (attempts > o.retries) return fail(`${error} (gave up after ${attempts} attempts)`);
		const backoff = BACKOFF_BASE_MS * 2 ** (attempts - 1);
		if (hinted !== undefined && hinted > MAX_RETRY_AFTER_MS) {
			return fail(
				`${error} (Retry-After ${Math.ceil(hinted / 1000)} s exceeds the ${MAX_RETRY_AFTER_MS / 1000} s in-tick cap)`,
			);
		}
		const wait = hinted ?? backoff;
		if (o.now() - start + wait + o.timeoutMs > DELIVERY_BUDGET_MS) {
			return fail(`${error} (no time left in the ${DELIVERY_BUDGET_MS / 1000} s budget to retry)`);
		}
		await o.sleep(wait);
	}
}

/**
 * Sends `message` to every notifier at once and resolves when all have finished, one result per
 * notifier in the same order. Never rejects (see the contract at the top of this file).
 */
export async function sendAll(
	message: NotifyMessage,
	notifiers: readonly Notifier[],
	opts: SendOptions = {},
): Promise<DeliveryResult[]> {
	const network = opts.fetch ?? ((input, init) => globalThis.fetch(input, init));
	const client = ofetch.create({}, { fetch: network });
	const o = {
		now: opts.now ?? Date.now,
		sleep: opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms))),
		timeoutMs: opts.timeoutMs ?? REQUEST_TIMEOUT_MS,
		retries: opts.retries ?? MAX_RETRIES,
	};
	return Promise.all(
		notifiers.map(async (n): Promise<DeliveryResult> => {
			const secrets = secretsOf(n);
			try {
				const r = await deliver(message, n, client, o, secrets);
				return r.error === undefined ? r : { ...r, error: redact(r.error, secrets) };
			} catch (e) {
				// A bug (a formatter throwing, say): still a value, so one notifier cannot sink the others.
				return {
					notifier: n.kind,
					ok: false,
					attempts: 0,
					error: safeErrorText(
						`internal error: ${e instanceof Error ? e.message : String(e)}`,
						secrets,
					),
					transient: false,
				};
			}
		}),
	);
}
