// HTTP readiness probe of the primary: one GET with a deadline, answered as a ProbeResult value, never a throw.
// What a result proves (up, down, refused-or-misdirected) is classified by protocol/probe-spec.ts, in witness.ts.
import { deadline } from "./deadline";
import type { ProbeResult } from "./types";

export interface ProbeOptions {
	fetch: typeof fetch;
	timeoutMs: number;
	expectStatus: number;
	/** When set and not "", the body (its first MAX_BODY_BYTES) must contain this text (protocol/probe-spec.ts). */
	expectBody?: string;
	/** Clock for the latency figure, ms. */
	now: () => number;
	/** The caller's own deadline (the tick's); the probe ends at whichever comes first. */
	signal?: AbortSignal;
}

// Readiness bodies are a few bytes; a misconfigured URL serving a big page must not cost memory or CPU.
export const MAX_BODY_BYTES = 64 * 1024;
// Enough of an error message to diagnose, short enough for one observation row.
const MAX_DETAIL = 200;

export async function probeHttp(url: string, opts: ProbeOptions): Promise<ProbeResult> {
	const started = opts.now();
	const elapsed = () => Math.max(0, Math.round(opts.now() - started));
	const dl = deadline(opts.timeoutMs, opts.signal);
	const signal = dl.signal;
	let status: number | undefined;
	// Called unbound: workerd's fetch throws "Illegal invocation" when called as a method of `opts`.
	const doFetch = opts.fetch;
	try {
		const res = await doFetch(url, {
			method: "GET",
			// A redirect is an answer about the URL, not readiness: report it rather than follow it silently.
			redirect: "manual",
			signal,
			headers: { accept: "text/plain, application/json;q=0.9, */*;q=0.1" },
		});
		status = res.status;
		if (res.status !== opts.expectStatus) {
			await discard(res);
			const location = res.headers.get("location");
			const where = location ? ` (redirect to ${clip(location)})` : "";
			return {
				ok: false,
				reason: "http-status",
				status,
				ms: elapsed(),
				detail: `expected HTTP ${opts.expectStatus}, got ${status}${where}`,
			};
		}
		if (opts.expectBody === undefined || opts.expectBody === "") {
			await discard(res);
			return { ok: true, status, ms: elapsed() };
		}
		const body = await readBounded(res.body, MAX_BODY_BYTES);
		if (!body.includes(opts.expectBody)) {
			return {
				ok: false,
				reason: "body-mismatch",
				status,
				ms: elapsed(),
				detail: `body does not contain ${JSON.stringify(clip(opts.expectBody))}`,
			};
		}
		return { ok: true, status, ms: elapsed() };
	} catch (e) {
		const ms = elapsed();
		if (dl.expired) {
			return withStatus(
				{ ok: false, reason: "timeout", ms, detail: `no answer within ${opts.timeoutMs} ms` },
				status,
			);
		}
		if (opts.signal?.aborted) {
			return withStatus(
				{ ok: false, reason: "timeout", ms, detail: "the tick's deadline ended the probe" },
				status,
			);
		}
		return withStatus({ ok: false, reason: "connect-error", ms, detail: clip(message(e)) }, status);
	} finally {
		dl.clear();
	}
}

function withStatus(r: ProbeResult & { ok: false }, status: number | undefined): ProbeResult {
	return status === undefined ? r : { ...r, status };
}

/** Reads at most `max` bytes of a body as text, then cancels the rest. */
export async function readBounded(
	body: ReadableStream<Uint8Array> | null,
	max: number,
): Promise<string> {
	if (!body) return "";
	const reader = body.getReader();
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
		if (size >= max) await reader.cancel().catch(() => {});
		reader.releaseLock();
	}
	const all = new Uint8Array(Math.min(size, max));
	let off = 0;
	for (const c of chunks) {
		const part = c.subarray(0, Math.min(c.byteLength, all.byteLength - off));
		all.set(part, off);
		off += part.byteLength;
		if (off >= all.byteLength) break;
	}
	return new TextDecoder().decode(all);
}

async function discard(res: Response): Promise<void> {
	// Release the connection without reading a body nobody looks at.
	await res.body?.cancel().catch(() => {});
}

function message(e: unknown): string {
	if (e instanceof Error) return e.message || e.name;
	return String(e);
}

function clip(s: string): string {
	return s.length > MAX_DETAIL ? `${s.slice(0, MAX_DETAIL)}...` : s;
}
