// Ed25519 request signing and verification over the canonical string; pure, no replay or term state.
import {
	type Audience,
	describeAudienceMismatch,
	formatAudience,
	parseAudience,
	sameAudience,
} from "./audience";
import { fromBase64Url, ownBytes, sha256, toBase64Url, toHex, utf8 } from "./encoding";
import { keyId } from "./keys";
import { HEADERS, MAX_SKEW_MS } from "./routes";
import { SIGNING_CONTEXT } from "./version";

export type Body = string | Uint8Array | null | undefined;

export interface CanonicalInput {
	method: string;
	/** Path only: no query, no fragment. */
	path: string;
	timestamp: string;
	nonce: string;
	/** The agent the request is for. */
	audience: Audience;
	body?: Body;
}

export function bodyBytes(body: Body): Uint8Array {
	if (body === null || body === undefined) return new Uint8Array(0);
	return typeof body === "string" ? utf8(body) : body;
}

/** "failover-gateway/v2\nMETHOD\nPATH\nTIMESTAMP\nNONCE\nPAIR/SIDE/AGENT\nhex(sha256(body))". */
export async function canonicalString(input: CanonicalInput): Promise<string> {
	const bodyHash = toHex(await sha256(bodyBytes(input.body)));
	return [
		SIGNING_CONTEXT,
		input.method.toUpperCase(),
		input.path,
		input.timestamp,
		input.nonce,
		formatAudience(input.audience),
		bodyHash,
	].join("\n");
}

export interface SignRequestInput {
	method: string;
	path: string;
	body?: Body;
	/** The agent this request is for; signed, and sent as the audience header. */
	audience: Audience;
	privateKey: CryptoKey;
	/** Unix ms; defaults to Date.now(). */
	now?: number;
	/** base64url of 16 bytes; defaults to fresh random bytes. Fixed only in test vectors. */
	nonce?: string;
}

/** Returns the headers to add to the request. */
export async function signRequest(input: SignRequestInput): Promise<Record<string, string>> {
	if (!input.path.startsWith("/") || /[?#]/.test(input.path)) {
		throw new TypeError(
			`signRequest: path must be a bare path like "/v1/status", got "${input.path}"`,
		);
	}
	const timestamp = String(Math.trunc(input.now ?? Date.now()));
	const nonce = input.nonce ?? toBase64Url(crypto.getRandomValues(new Uint8Array(16)));
	const canonical = await canonicalString({ ...input, timestamp, nonce });
	const signature = new Uint8Array(
		await crypto.subtle.sign("Ed25519", input.privateKey, ownBytes(utf8(canonical))),
	);
	const headers: Record<string, string> = {
		[HEADERS.timestamp]: timestamp,
		[HEADERS.nonce]: nonce,
		[HEADERS.signature]: toBase64Url(signature),
		[HEADERS.audience]: formatAudience(input.audience),
	};
	const id = await keyId(input.privateKey);
	if (id !== undefined) headers[HEADERS.keyId] = id;
	return headers;
}

export type VerifyFailureCode =
	| "missing-signature"
	| "bad-signature"
	| "unknown-key"
	| "stale-timestamp"
	| "malformed-headers"
	| "wrong-audience";

export type VerifyResult =
	| { ok: true; nonce: string; timestamp: number; keyId: string; audience: Audience }
	| { ok: false; code: VerifyFailureCode; message: string };

export type HeaderSource = Headers | Readonly<Record<string, string | undefined>>;

export interface VerifyRequestInput {
	method: string;
	path: string;
	headers: HeaderSource;
	body?: Body;
	publicKeys: readonly CryptoKey[];
	/**
	 * The verifying agent's own audience. A request signed for any other audience fails with
	 * "wrong-audience" (checked after the signature, so only the watchdog's own requests get that answer).
	 */
	audience: Audience;
	/** Unix ms: the verifier's clock, passed in. */
	now: number;
	maxSkewMs?: number;
}

/**
 * A header by lower-case name from a Headers object or a plain record (any case). Headers is told
 * apart by its get method, not `instanceof Headers`: on Node, merely reaching the Headers global
 * loads undici (about 9 MiB of RSS), which the agent serving node:http with records never needs.
 */
export function header(headers: HeaderSource, name: string): string | undefined {
	if (typeof (headers as Headers).get === "function")
		return (headers as Headers).get(name) ?? undefined;
	for (const [key, value] of Object.entries(headers)) {
		if (key.toLowerCase() === name) return value;
	}
	return undefined;
}

const TIMESTAMP_RE = /^[0-9]{1,15}$/;
const KEY_ID_RE = /^[A-Za-z0-9_-]{12}$/;

function fail(code: VerifyFailureCode, message: string): VerifyResult {
	return { ok: false, code, message };
}

export async function verifyRequest(input: VerifyRequestInput): Promise<VerifyResult> {
	const maxSkewMs = input.maxSkewMs ?? MAX_SKEW_MS;
	const signatureText = header(input.headers, HEADERS.signature);
	const timestampText = header(input.headers, HEADERS.timestamp);
	const nonce = header(input.headers, HEADERS.nonce);
	const claimedKeyId = header(input.headers, HEADERS.keyId);
	const audienceText = header(input.headers, HEADERS.audience);

	if (signatureText === undefined) {
		return fail(
			"missing-signature",
			`no ${HEADERS.signature} header: every route except /healthz must be signed by the watchdog`,
		);
	}
	if (timestampText === undefined || !TIMESTAMP_RE.test(timestampText)) {
		return fail(
			"malformed-headers",
			`${HEADERS.timestamp} must be unix milliseconds as an integer`,
		);
	}
	const nonceBytes = nonce === undefined ? null : fromBase64Url(nonce);
	if (nonce === undefined || nonceBytes === null || nonceBytes.length !== 16) {
		return fail(
			"malformed-headers",
			`${HEADERS.nonce} must be 16 random bytes in base64url (22 characters)`,
		);
	}
	const signature = fromBase64Url(signatureText);
	if (signature === null || signature.length !== 64) {
		return fail(
			"malformed-headers",
			`${HEADERS.signature} must be a 64-byte Ed25519 signature in base64url`,
		);
	}
	if (claimedKeyId !== undefined && !KEY_ID_RE.test(claimedKeyId)) {
		return fail("malformed-headers", `${HEADERS.keyId} must be a 12-character key id`);
	}
	const audience = audienceText === undefined ? null : parseAudience(audienceText);
	if (audience === null) {
		return fail(
			"malformed-headers",
			`${HEADERS.audience} must name the target agent as "PAIR/SIDE/AGENT-FINGERPRINT" (protocol v2; is the watchdog older than this agent?)`,
		);
	}

	const timestamp = Number(timestampText);
	const skew = timestamp - input.now;
	if (Math.abs(skew) > maxSkewMs) {
		const side = skew > 0 ? "ahead of" : "behind";
		return fail(
			"stale-timestamp",
			`timestamp is ${(Math.abs(skew) / 1000).toFixed(1)} s ${side} this agent's clock (allowed ±${maxSkewMs / 1000} s): check NTP on both sides, or the request is a replay`,
		);
	}

	const known: { key: CryptoKey; id: string }[] = [];
	for (const key of input.publicKeys) known.push({ key, id: (await keyId(key)) ?? "" });
	let candidates = known;
	if (claimedKeyId !== undefined) {
		candidates = known.filter((k) => k.id === claimedKeyId);
		if (candidates.length === 0) {
			const trusted = known.map((k) => k.id).join(", ") || "none";
			return fail(
				"unknown-key",
				`signed by key id ${claimedKeyId}, which this agent does not trust (trusted: ${trusted}); add its public key to watchdogPublicKeys`,
			);
		}
	}
	if (candidates.length === 0) {
		return fail("unknown-key", "this agent has no watchdog public keys configured");
	}

	const data = ownBytes(
		utf8(
			await canonicalString({
				method: input.method,
				path: input.path,
				timestamp: timestampText,
				nonce,
				audience,
				body: input.body,
			}),
		),
	);
	for (const candidate of candidates) {
		if (await crypto.subtle.verify("Ed25519", candidate.key, ownBytes(signature), data)) {
			if (!sameAudience(audience, input.audience)) {
				return fail(
					"wrong-audience",
					`signed by the watchdog for another agent: ${describeAudienceMismatch(audience, input.audience)}; refused (a command replayed to the wrong agent, or a Worker config naming the wrong agent URL or key)`,
				);
			}
			return { ok: true, nonce, timestamp, keyId: candidate.id, audience };
		}
	}
	return fail(
		"bad-signature",
		"signature does not match method, path, timestamp, nonce, audience and body for any trusted key",
	);
}

export type PrecheckResult = { ok: true } | { ok: false; code: VerifyFailureCode; message: string };

/**
 * The checks verifyRequest makes before any key, body or signature: the auth headers are present
 * and well formed and the timestamp is within the skew. No crypto and no body, so a server can
 * refuse an unsigned or malformed request before reading its body. It runs verifyRequest itself
 * with no keys (which stops at "unknown-key" once headers and clock pass), so the header rules
 * have one definition. Passing this proves nothing about who sent the request.
 */
export async function precheckRequest(input: {
	headers: HeaderSource;
	now: number;
	maxSkewMs?: number;
}): Promise<PrecheckResult> {
	// No key, so the audience is never compared: any value will do (the header itself is still checked).
	const anyAudience = { pair: "-", side: "standby", agent: "-" } as const;
	const v = await verifyRequest({
		method: "GET",
		path: "/",
		publicKeys: [],
		audience: anyAudience,
		...input,
	});
	if (v.ok || v.code === "unknown-key") return { ok: true };
	return v;
}
