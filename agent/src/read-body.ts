// Reads a request body up to a byte limit, stopping as soon as it is exceeded (Content-Length is not trusted).

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
	const bytes = new Uint8Array(total);
	let offset = 0;
	for (const chunk of chunks) {
		bytes.set(chunk, offset);
		offset += chunk.byteLength;
	}
	return { ok: true, bytes };
}
