// The watchdog's lease: a signed statement of which side of a pair is active at which term, and until when.
import { fromBase64Url, ownBytes, toBase64Url, utf8 } from "./encoding";
import { keyId } from "./keys";
import { MAX_SKEW_MS } from "./routes";
import type { Role } from "./schemas";
import { MAX_TERM } from "./terms";

/** Domain separation: a lease signature can never be replayed as a request signature, or the reverse. */
export const LEASE_CONTEXT = "failover-gateway/lease/v1";

/**
 * Default lifetime of a lease, s. The watchdog renews it every tick (5 s by default), so 30 s rides out
 * five lost ticks before an active agent stops pushing to the main branch; short enough that a watchdog
 * outage is noticed within one replication interval (30 s).
 */
export const DEFAULT_LEASE_SECONDS = 30;
/** A lease longer than an hour would let a lost watchdog's last word outlive any failover: refused. */
export const MAX_LEASE_SECONDS = 3_600;
/** Pair names as the Worker's config spells them, bounded so a header stays small. */
const PAIR_RE = /^[A-Za-z0-9._-]{1,64}$/;
const INT_RE = /^(0|[1-9][0-9]{0,14})$/;
/** Largest header value accepted: the canonical text is under 200 bytes, its signature 86 characters. */
export const MAX_LEASE_CHARS = 512;

/**
 * What the watchdog grants. `active` is the side that may replicate to the main branch; null while
 * promoting or demoting (nobody may). Times are ms since the epoch on the watchdog's clock.
 */
export interface Lease {
	readonly pair: string;
	readonly active: Role | null;
	readonly term: number;
	/** When the watchdog issued it, ms since the epoch. */
	readonly issuedAt: number;
	/** How long it stays valid after issuedAt, s (1..3600). */
	readonly leaseSeconds: number;
}

/** Thrown by leaseCanonical/signLease for a lease the watchdog must never issue (a bug, not input). */
export class LeaseFieldError extends Error {
	override name = "LeaseFieldError";
}

function checkFields(lease: Lease): string | null {
	if (!PAIR_RE.test(lease.pair)) return "pair must be 1..64 characters from [A-Za-z0-9._-]";
	if (lease.active !== null && lease.active !== "primary" && lease.active !== "standby") {
		return 'active must be "primary", "standby" or null';
	}
	if (!Number.isInteger(lease.term) || lease.term < 0 || lease.term > MAX_TERM) {
		return `term must be an integer from 0 to ${MAX_TERM}`;
	}
	if (!Number.isInteger(lease.issuedAt) || lease.issuedAt < 0 || lease.issuedAt > 1e15 - 1) {
		return "issuedAt must be unix milliseconds as an integer";
	}
	if (
		!Number.isInteger(lease.leaseSeconds) ||
		lease.leaseSeconds < 1 ||
		lease.leaseSeconds > MAX_LEASE_SECONDS
	) {
		return `leaseSeconds must be an integer from 1 to ${MAX_LEASE_SECONDS}`;
	}
	return null;
}

/** "failover-gateway/lease/v1\nPAIR\nACTIVE|none\nTERM\nISSUED_AT\nLEASE_SECONDS": one spelling per lease. */
export function leaseCanonical(lease: Lease): string {
	const bad = checkFields(lease);
	if (bad !== null) throw new LeaseFieldError(`lease: ${bad}`);
	return [
		LEASE_CONTEXT,
		lease.pair,
		lease.active ?? "none",
		String(lease.term),
		String(lease.issuedAt),
		String(lease.leaseSeconds),
	].join("\n");
}

/**
 * The header value: base64url(canonical) "." base64url(Ed25519 signature) [ "." key id ].
 * Self-contained, so it needs no request signature around it (and is not covered by one).
 */
export async function signLease(lease: Lease, privateKey: CryptoKey): Promise<string> {
	const canonical = utf8(leaseCanonical(lease));
	const signature = new Uint8Array(
		await crypto.subtle.sign("Ed25519", privateKey, ownBytes(canonical)),
	);
	const id = await keyId(privateKey);
	return [toBase64Url(canonical), toBase64Url(signature), ...(id === undefined ? [] : [id])].join(
		".",
	);
}

export type LeaseRejection = "malformed" | "bad-signature" | "unknown-key" | "from-the-future";

export type LeaseVerifyResult =
	| { readonly ok: true; readonly lease: Lease; readonly keyId: string }
	| { readonly ok: false; readonly code: LeaseRejection; readonly message: string };

function parseCanonical(text: string): Lease | string {
	const parts = text.split("\n");
	if (parts.length !== 6 || parts[0] !== LEASE_CONTEXT) return `not a ${LEASE_CONTEXT} lease`;
	const [, pair, active, term, issuedAt, seconds] = parts as [
		string,
		string,
		string,
		string,
		string,
		string,
	];
	if (active !== "primary" && active !== "standby" && active !== "none") {
		return 'active must be "primary", "standby" or "none"';
	}
	for (const [name, value] of [
		["term", term],
		["issuedAt", issuedAt],
		["leaseSeconds", seconds],
	] as const) {
		if (!INT_RE.test(value)) return `${name} must be a decimal integer`;
	}
	const lease: Lease = {
		pair,
		active: active === "none" ? null : active,
		term: Number(term),
		issuedAt: Number(issuedAt),
		leaseSeconds: Number(seconds),
	};
	return checkFields(lease) ?? lease;
}

/**
 * Checks a lease header against the trusted watchdog keys. Freshness is not judged here (see
 * leaseExpiresAt): a verifier keeps the newest lease and asks whether it is still fresh on its own clock.
 * `now` (ms) only refuses a lease issued further in the future than the request skew allows.
 */
export async function verifyLease(
	text: string,
	publicKeys: readonly CryptoKey[],
	now: number,
): Promise<LeaseVerifyResult> {
	const fail = (code: LeaseRejection, message: string): LeaseVerifyResult => ({
		ok: false,
		code,
		message,
	});
	if (text.length > MAX_LEASE_CHARS)
		return fail("malformed", `lease over ${MAX_LEASE_CHARS} characters`);
	const pieces = text.split(".");
	if (pieces.length !== 2 && pieces.length !== 3) {
		return fail("malformed", "expected base64url(lease).base64url(signature)[.keyId]");
	}
	const canonicalBytes = fromBase64Url(pieces[0] ?? "");
	const signature = fromBase64Url(pieces[1] ?? "");
	if (canonicalBytes === null || signature === null || signature.length !== 64) {
		return fail("malformed", "lease or signature is not canonical base64url (64-byte signature)");
	}
	let canonical: string;
	try {
		canonical = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(canonicalBytes);
	} catch {
		return fail("malformed", "lease text is not UTF-8");
	}
	const parsed = parseCanonical(canonical);
	if (typeof parsed === "string") return fail("malformed", parsed);
	const claimed = pieces[2];
	const known: { key: CryptoKey; id: string }[] = [];
	for (const key of publicKeys) known.push({ key, id: (await keyId(key)) ?? "" });
	const candidates = claimed === undefined ? known : known.filter((k) => k.id === claimed);
	if (candidates.length === 0) {
		return fail("unknown-key", `lease signed by key id ${claimed ?? "?"}, which is not trusted`);
	}
	for (const candidate of candidates) {
		if (
			await crypto.subtle.verify(
				"Ed25519",
				candidate.key,
				ownBytes(signature),
				ownBytes(canonicalBytes),
			)
		) {
			if (parsed.issuedAt - now > MAX_SKEW_MS) {
				return fail(
					"from-the-future",
					`lease issued ${((parsed.issuedAt - now) / 1000).toFixed(1)} s ahead of this clock (allowed ${MAX_SKEW_MS / 1000} s): check NTP`,
				);
			}
			return { ok: true, lease: parsed, keyId: candidate.id };
		}
	}
	return fail("bad-signature", "lease signature does not match any trusted watchdog key");
}

/** When the lease stops being valid, ms since the epoch (issuer's clock; skew bounded by verifyLease). */
export function leaseExpiresAt(lease: Lease): number {
	return lease.issuedAt + lease.leaseSeconds * 1000;
}

/** Total order used to keep the newest lease: higher term first, then later issue time. */
export function isNewerLease(candidate: Lease, held: Lease | null): boolean {
	if (held === null) return true;
	if (candidate.term !== held.term) return candidate.term > held.term;
	return candidate.issuedAt > held.issuedAt;
}
