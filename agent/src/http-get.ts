// The agent's readiness GET over node:http/https: the status code only, no redirects, body discarded.
import type { IncomingMessage } from "node:http";

/**
 * The one request shape the agent's readiness probes make. Global `fetch` satisfies it, so tests
 * can pass a fake fetch; the default is {@link httpGet}.
 */
export type ReadyFetch = (
	url: string,
	init: { signal: AbortSignal; redirect: "manual"; headers: Record<string, string> },
) => Promise<ReadyAnswer>;

/**
 * What a readiness GET answers: the status, and the body to read (`text()`, which httpGet bounds at
 * MAX_READY_BODY_BYTES) or to drop (`body.cancel()`). A caller does one or the other. A fetch
 * `Response` has both.
 */
export interface ReadyAnswer {
	status: number;
	body?: { cancel(): Promise<void> } | null;
	text?: () => Promise<string>;
}

/** A readiness body is a few hundred bytes; a misdirected URL serving a big page must not cost memory. */
export const MAX_READY_BODY_BYTES = 64 * 1024;

/** Reads an answer's body, at most MAX_READY_BODY_BYTES of it ("" when it has none). */
export async function readyBodyText(answer: ReadyAnswer): Promise<string> {
	if (!answer.text) {
		await answer.body?.cancel().catch(() => {});
		return "";
	}
	const text = await answer.text();
	return text.length > MAX_READY_BODY_BYTES ? text.slice(0, MAX_READY_BODY_BYTES) : text;
}

/**
 * GET `url` and resolve with its status once the headers arrive; the body is discarded.
 *
 * Why not global fetch: Node's fetch is undici, whose WebAssembly HTTP parser and module graph add
 * about 27 MiB of RSS to a process that otherwise idles near 45 MiB (measured on Node 26, see
 * docs/benchmarks.md), and the standby probes every few seconds, so it would always be loaded.
 *
 * Errors mirror fetch's, so callers read them the same way: an aborted `signal` rejects with its
 * reason (AbortSignal.timeout gives a DOMException named "TimeoutError"); a socket error rejects
 * with `TypeError("fetch failed", { cause })` whose cause carries the code (ECONNREFUSED, ...).
 * A URL that is not http(s) rejects with a TypeError. Redirects are answered as their 3xx status.
 */
export const httpGet: ReadyFetch = (url, init) =>
	new Promise((resolve, reject) => {
		const { signal } = init;
		if (signal.aborted) return reject(signal.reason);
		const target = URL.parse(url);
		if (target === null || !/^https?:$/.test(target.protocol)) {
			return reject(new TypeError(`not an http(s) URL: ${target?.protocol ?? "unparsable"}`));
		}
		// Loaded on first use: only the scheme a config names is ever paid for (https pulls in tls).
		const client: Pick<typeof import("node:http"), "get"> =
			target.protocol === "https:"
				? process.getBuiltinModule("node:https")
				: process.getBuiltinModule("node:http");
		const onAbort = () => request.destroy(signal.reason);
		// No keep-alive agent: one probe every few seconds gains nothing from a pooled socket, and a
		// fresh connection is what the probe means to test.
		const request = client.get(
			target,
			{ headers: init.headers, agent: false },
			(res: IncomingMessage) => {
				resolve({
					status: res.statusCode ?? 0,
					body: {
						cancel: async () => {
							signal.removeEventListener("abort", onAbort);
							res.destroy();
						},
					},
					// At most MAX_READY_BODY_BYTES, then the connection is closed: a body that never
					// ends (a misbehaving endpoint) cannot hold a socket or grow memory. The signal
					// still bounds the time.
					text: () =>
						new Promise<string>((done, fail) => {
							const chunks: Buffer[] = [];
							let size = 0;
							const finish = () => {
								signal.removeEventListener("abort", onAbort);
								done(Buffer.concat(chunks).toString("utf8"));
							};
							res.on("data", (chunk: Buffer) => {
								size += chunk.length;
								chunks.push(chunk);
								if (size >= MAX_READY_BODY_BYTES) {
									res.destroy();
									finish();
								}
							});
							res.on("end", finish);
							res.on("error", (e) => (signal.aborted ? fail(signal.reason) : finish()));
						}),
				});
			},
		);
		// `on`, not `once`: a socket error after the answer (the destroy above) must not go unhandled.
		request.on("error", (error) => {
			signal.removeEventListener("abort", onAbort);
			reject(signal.aborted ? signal.reason : new TypeError("fetch failed", { cause: error }));
		});
		signal.addEventListener("abort", onAbort, { once: true });
	});
