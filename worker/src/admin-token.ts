// How strong ADMIN_TOKEN is: a token that can be guessed turns every operator route into a public one.

/** Shortest accepted token, characters. `openssl rand -base64 32` gives 44. */
export const MIN_TOKEN_LENGTH = 32;
/**
 * Least estimated entropy, bits: the token's length times the Shannon entropy of its own characters.
 * Measured over 20,000 random tokens of each kind, the lowest scores were: `openssl rand -base64 32`
 * 191, 64 hex characters 222, 32 alphanumerics 122, a UUID 113, 32 hex characters (128 random bits)
 * 93. One character over and over scores 0, "abcdefgh" x 4 96 (and is refused as a repeat anyway).
 */
export const MIN_TOKEN_BITS = 90;

export const TOKEN_FIX = "openssl rand -base64 32 | npx wrangler secret put ADMIN_TOKEN";

/** Estimated bits: length x the entropy of the token's character frequencies. */
export function estimatedBits(token: string): number {
	const counts = new Map<string, number>();
	const chars = [...token];
	for (const ch of chars) counts.set(ch, (counts.get(ch) ?? 0) + 1);
	let perChar = 0;
	for (const n of counts.values()) {
		const p = n / chars.length;
		perChar -= p * Math.log2(p);
	}
	return perChar * chars.length;
}

const verdicts = new Map<string, string | undefined>();

/**
 * Why the token is too weak to guard the admin routes, or undefined when it is strong enough (or unset:
 * that is reported separately). Never quotes the token. Cached per isolate: it is checked on every
 * request and changes only with a deploy.
 */
export function adminTokenWeakness(token: string | undefined): string | undefined {
	if (token === undefined || token === "") return undefined;
	if (verdicts.has(token)) return verdicts.get(token);
	const verdict = judge(token);
	if (verdicts.size > 8) verdicts.clear();
	verdicts.set(token, verdict);
	return verdict;
}

function judge(token: string): string | undefined {
	const fix = `set a random one: ${TOKEN_FIX}`;
	if (/\s/.test(token.trim())) {
		return `ADMIN_TOKEN contains whitespace, which an Authorization header cannot carry; ${fix}`;
	}
	const t = token.trim();
	const length = [...t].length;
	if (length < MIN_TOKEN_LENGTH) {
		return `ADMIN_TOKEN is too short (${length} characters, at least ${MIN_TOKEN_LENGTH} needed), so it can be guessed; admin routes are off until it is replaced: ${fix}`;
	}
	const unit = repeatedUnit(t);
	if (unit !== undefined) {
		return `ADMIN_TOKEN is one ${unit}-character piece repeated, so it can be guessed; admin routes are off until it is replaced: ${fix}`;
	}
	const bits = Math.floor(estimatedBits(t));
	if (bits < MIN_TOKEN_BITS) {
		return `ADMIN_TOKEN is too predictable (about ${bits} bits from its characters, at least ${MIN_TOKEN_BITS} needed); admin routes are off until it is replaced: ${fix}`;
	}
	return undefined;
}

/** The length of the shortest piece `t` is a repetition of, when it is one (e.g. 8 for "abcdefgh" x 4). */
function repeatedUnit(t: string): number | undefined {
	for (let n = 1; n <= t.length / 2; n++) {
		if (t.length % n === 0 && t.slice(0, n).repeat(t.length / n) === t) return n;
	}
	return undefined;
}
