// HMAC-SHA256 signing of the generic JSON webhook, and the check a receiver runs (WebCrypto only: workerd, Node, browsers).
//
// How a receiver verifies a delivery:
//   1. Read the raw body bytes as text, before any JSON parsing or re-serialising.
//   2. t = header `x-failover-timestamp` (Unix seconds); reject if |now - t| > 300 s (stops replays).
//   3. expected = hex(HMAC-SHA256(key = NOTIFY_WEBHOOK_SECRET as UTF-8, message = `${t}.${body}`)).
//   4. header `x-failover-signature` must equal `sha256=${expected}`; compare in constant time.
//   5. Optionally drop repeats by the payload's `id` (a retried delivery carries the same id).
// `verifyWebhookSignature` below does steps 2-4.

export const SIGNATURE_HEADER = "x-failover-signature";
export const TIMESTAMP_HEADER = "x-failover-timestamp";
const PREFIX = "sha256=";

/** Replay window a receiver should accept; 5 minutes tolerates modest clock skew and our retries. */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

const encoder = new TextEncoder();

function hmacKey(secret: string, usage: "sign" | "verify"): Promise<CryptoKey> {
	return crypto.subtle.importKey(
		"raw",
		encoder.encode(secret),
		{ name: "HMAC", hash: "SHA-256" },
		false,
		[usage],
	);
}

function toHex(buf: ArrayBuffer): string {
	return Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, "0")).join("");
}

function fromHex(hex: string): Uint8Array<ArrayBuffer> | null {
	if (!/^(?:[0-9a-f]{2})+$/i.test(hex)) return null;
	const out = new Uint8Array(hex.length / 2);
	for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
	return out;
}

/** The two headers for one delivery of `body` at `timestampSeconds`. */
export async function signWebhook(
	secret: string,
	body: string,
	timestampSeconds: number,
): Promise<Record<typeof SIGNATURE_HEADER | typeof TIMESTAMP_HEADER, string>> {
	const key = await hmacKey(secret, "sign");
	const mac = await crypto.subtle.sign("HMAC", key, encoder.encode(`${timestampSeconds}.${body}`));
	return {
		[TIMESTAMP_HEADER]: String(timestampSeconds),
		[SIGNATURE_HEADER]: `${PREFIX}${toHex(mac)}`,
	};
}

export type VerifyResult =
	| { ok: true; timestamp: number }
	| {
			ok: false;
			reason: "missing-header" | "bad-timestamp" | "stale-timestamp" | "bad-signature";
			detail: string;
	  };

/**
 * Verifies one delivery. `headers` is the request's Headers (or anything with get()); `body` the raw
 * body text. HMAC comparison goes through crypto.subtle.verify, which is constant-time.
 */
export async function verifyWebhookSignature(
	secret: string,
	body: string,
	headers: { get(name: string): string | null },
	opts: { nowMs?: number; toleranceSeconds?: number } = {},
): Promise<VerifyResult> {
	const ts = headers.get(TIMESTAMP_HEADER);
	const sig = headers.get(SIGNATURE_HEADER);
	if (ts === null || sig === null) {
		return {
			ok: false,
			reason: "missing-header",
			detail: `expected both ${TIMESTAMP_HEADER} and ${SIGNATURE_HEADER} headers`,
		};
	}
	if (!/^\d{1,12}$/.test(ts)) {
		return {
			ok: false,
			reason: "bad-timestamp",
			detail: `${TIMESTAMP_HEADER}: expected Unix seconds`,
		};
	}
	const timestamp = Number(ts);
	const nowSeconds = Math.floor((opts.nowMs ?? Date.now()) / 1000);
	const tolerance = opts.toleranceSeconds ?? SIGNATURE_TOLERANCE_SECONDS;
	if (Math.abs(nowSeconds - timestamp) > tolerance) {
		return {
			ok: false,
			reason: "stale-timestamp",
			detail: `${TIMESTAMP_HEADER}: expected within ${tolerance} s of now`,
		};
	}
	const mac = sig.startsWith(PREFIX) ? fromHex(sig.slice(PREFIX.length)) : null;
	if (mac === null || mac.length !== 32) {
		return {
			ok: false,
			reason: "bad-signature",
			detail: `${SIGNATURE_HEADER}: expected sha256=<64 hex digits>`,
		};
	}
	const key = await hmacKey(secret, "verify");
	const good = await crypto.subtle.verify("HMAC", key, mac, encoder.encode(`${ts}.${body}`));
	return good
		? { ok: true, timestamp }
		: { ok: false, reason: "bad-signature", detail: "signature does not match the body" };
}
