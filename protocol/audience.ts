// Who a signed request is for (pair, side, agent identity): its one text form and the agent fingerprint.
import { sha256, toBase64Url } from "./encoding";
import { decodePublicKey } from "./keys";
import { ROLES, type Role } from "./schemas";

/**
 * A pair's name as the Worker's config spells it (and as an agent's `pair` field must match): 1-63
 * lowercase letters, digits or dashes, starting with a letter or digit.
 */
export const PAIR_NAME_RE = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** An agent fingerprint: base64url (no padding) of the full SHA-256 of its raw 32-byte public key. */
const FINGERPRINT_RE = /^[A-Za-z0-9_-]{43}$/;

/**
 * The target of one signed request. `agent` is the fingerprint of the agent's own public key
 * (agentFingerprint()), so a request for the old key of a re-keyed agent, or for a look-alike agent
 * configured with the same pair and side elsewhere, is refused too.
 */
export interface Audience {
	pair: string;
	side: Role;
	agent: string;
}

/** "PAIR/SIDE/AGENT": the header value and the canonical-string line. No part can contain "/". */
export function formatAudience(a: Audience): string {
	return `${a.pair}/${a.side}/${a.agent}`;
}

/** Parses the header value; null when it is not exactly "PAIR/SIDE/AGENT" with valid parts. */
export function parseAudience(text: string): Audience | null {
	const parts = text.split("/");
	if (parts.length !== 3) return null;
	const [pair, side, agent] = parts as [string, string, string];
	if (!PAIR_NAME_RE.test(pair) || !(ROLES as readonly string[]).includes(side)) return null;
	if (!FINGERPRINT_RE.test(agent)) return null;
	return { pair, side: side as Role, agent };
}

/** Equal in every part. */
export function sameAudience(a: Audience, b: Audience): boolean {
	return a.pair === b.pair && a.side === b.side && a.agent === b.agent;
}

/**
 * Fingerprint of an agent public key "ed25519:..." (the full SHA-256, 256 bits: unlike the 72-bit key
 * id, it names an identity, so a second key with the same fingerprint must be out of reach).
 * Throws TypeError for text that is not a public key (config validation catches that first).
 */
export async function agentFingerprint(publicKeyText: string): Promise<string> {
	const decoded = decodePublicKey(publicKeyText);
	if (!decoded.ok) throw new TypeError(`agent public key: ${decoded.message}`);
	return toBase64Url(await sha256(decoded.bytes));
}

/** Names the first part that differs, for an error a person can act on. */
export function describeAudienceMismatch(signed: Audience, mine: Audience): string {
	if (signed.pair !== mine.pair)
		return `the request is for pair "${signed.pair}", this agent serves pair "${mine.pair}"`;
	if (signed.side !== mine.side)
		return `the request is for the ${signed.side}'s agent, this agent is the ${mine.side}'s`;
	return `the request is for agent ${signed.agent}, this agent's key has fingerprint ${mine.agent} (was the agent re-keyed without updating the Worker's agentPublicKey?)`;
}
