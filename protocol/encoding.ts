// Byte encodings (base64, base64url, hex) with web-standard APIs only, so workerd and Node share them.

const BASE64URL_RE = /^[A-Za-z0-9_-]*$/;
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function toBase64(bytes: Uint8Array): string {
	let binary = "";
	for (const byte of bytes) binary += String.fromCharCode(byte);
	return btoa(binary);
}

/** Standard base64 with padding; null when the text is not exactly that. */
export function fromBase64(text: string): Uint8Array | null {
	if (!BASE64_RE.test(text)) return null;
	const binary = atob(text);
	const out = new Uint8Array(binary.length);
	for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
	return out;
}

export function toBase64Url(bytes: Uint8Array): string {
	return toBase64(bytes).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** Unpadded base64url; null when the text is not exactly that (padding, bad length, stray chars). */
export function fromBase64Url(text: string): Uint8Array | null {
	if (!BASE64URL_RE.test(text) || text.length % 4 === 1) return null;
	const padded =
		text.replaceAll("-", "+").replaceAll("_", "/") + "=".repeat((4 - (text.length % 4)) % 4);
	const bytes = fromBase64(padded);
	// Reject non-canonical encodings (unused low bits set), so one byte string has one spelling.
	if (bytes === null || toBase64Url(bytes) !== text) return null;
	return bytes;
}

export function toHex(bytes: Uint8Array): string {
	let out = "";
	for (const byte of bytes) out += byte.toString(16).padStart(2, "0");
	return out;
}

export function utf8(text: string): Uint8Array {
	return new TextEncoder().encode(text);
}

/** Copies into a fresh ArrayBuffer-backed array, the form WebCrypto's BufferSource accepts everywhere. */
export function ownBytes(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
	const copy = new Uint8Array(bytes.byteLength);
	copy.set(bytes);
	return copy;
}

export async function sha256(bytes: Uint8Array): Promise<Uint8Array> {
	return new Uint8Array(await crypto.subtle.digest("SHA-256", ownBytes(bytes)));
}
