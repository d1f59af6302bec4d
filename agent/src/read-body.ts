// Reads a request body (web Request or node:http) up to a byte limit, stopping as soon as it is exceeded (Content-Length is not trusted).
import type { IncomingMessage } from "node:http";

export type BodyRead =
	| { ok: true; bytes: Uint8Array }
	| { ok: false; reason: "too-large" | "unreadable" };

export async function readBodyLimited(request: Request, limit: number): Promise<BodyRead> {
	const declared = request.headers.get("content-length");
	// A declared length over the limit is refused without reading; a smaller one may still be a lie.
	if (declared !== null && /^[0-9]+$/.test(declared) && Number(declared) > limit) {
		return { ok: false, reason: "too-large" };
	}
	if (request.body === null) return { ok: true, bytes: new Uint8Array(0) };
	const reader = request.body.getReader();
	const chunks: Uint8Array[] = [];
	let total = 0;
	try {
		for (;;) {
			const { done, value } = await reader.read();
			if (done) break;
			total += value.byteLength;
			if (total > limit) {
				await reader.cancel().catch(() => {});
				return { ok: false, reason: "too-large" };
			}
			chunks.push(value);
		}
	} catch {
		return { ok: false, reason: "unreadable" };
	}
	return { ok: true, bytes: concat(chunks, total) };
}

/**
 * As readBodyLimited, for a node:http request. Past the limit it stops listening and pauses the
 * stream rather than destroying it: destroying an unfinished IncomingMessage destroys its socket,
 * and the 413 could not be sent (server.ts closes such a connection after answering).
 */
export function readIncomingLimited(incoming: IncomingMessage, limit: number): Promise<BodyRead> {
	const declared = incoming.headers["content-length"];
	if (typeof declared === "string" && /^[0-9]+$/.test(declared) && Number(declared) > limit) {
		return Promise.resolve({ ok: false, reason: "too-large" });
	}
	return new Promise((resolve) => {
		const chunks: Uint8Array[] = [];
		let total = 0;
		const finish = (read: BodyRead) => {
			incoming.off("data", onData);
			incoming.off("end", onEnd);
			incoming.off("close", onClose);
			incoming.off("error", onFailure);
			resolve(read);
		};
		const onData = (chunk: Uint8Array) => {
			total += chunk.byteLength;
			if (total > limit) {
				incoming.pause();
				finish({ ok: false, reason: "too-large" });
				return;
			}
			chunks.push(chunk);
		};
		const onEnd = () => finish({ ok: true, bytes: concat(chunks, total) });
		// "close" before "end": the peer went away mid-body.
		const onClose = () => finish({ ok: false, reason: "unreadable" });
		const onFailure = () => finish({ ok: false, reason: "unreadable" });
		incoming.on("data", onData);
		incoming.on("end", onEnd);
		incoming.on("close", onClose);
		incoming.on("error", onFailure);
	});
}

function concat(chunks: readonly Uint8Array[], total: number): Uint8Array {
	const bytes = new Uint8Array(total);
	let offset = 0;
	for (const chunk of chunks) {
		bytes.set(chunk, offset);
		offset += chunk.byteLength;
	}
	return bytes;
}
