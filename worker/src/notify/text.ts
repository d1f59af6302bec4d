// Escaping and length-safe truncation shared by every provider formatter.

/** Appended to anything cut short, so a reader knows text is missing. */
export const ELLIPSIS = "…";

/** HTML text and attribute escaping (Telegram parse_mode HTML). */
export function escapeHtml(s: string): string {
	return s.replace(/[&<>"]/g, (c) =>
		c === "&" ? "&amp;" : c === "<" ? "&lt;" : c === ">" ? "&gt;" : "&quot;",
	);
}

/** Slack's three control characters; Slack decodes exactly these entities in every text field. */
export function escapeSlack(s: string): string {
	return s.replace(/[&<>]/g, (c) => (c === "&" ? "&amp;" : c === "<" ? "&lt;" : "&gt;"));
}

/**
 * Discord markdown: a backslash before punctuation renders the character literally, so every
 * character that can start formatting, a link, a mention, a list or a heading is escaped.
 * Mentions are also disabled with allowed_mentions in the payload (belt and braces).
 */
export function escapeDiscord(s: string): string {
	return s.replace(/[\\`*_~|<>#\-[\]()@:!.+=]/g, "\\$&");
}

/** Control characters (except newline and tab) never belong in a message. */
export function stripControl(s: string): string {
	return s.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, "");
}

/** One line: newlines and tabs become spaces (for titles and list items). */
export function oneLine(s: string): string {
	return stripControl(s).replace(/[\r\n\t]+/g, " ");
}

/**
 * The longest prefix of `raw` (cut on a code point, never inside a surrogate pair) such that
 * `escape(prefix + "…")` is at most `limit` UTF-16 units; `raw` itself when it already fits.
 * Truncating before escaping means an entity or a backslash escape is never cut in half.
 * Lengths are UTF-16 code units, which is what Discord and Telegram count (an upper bound otherwise).
 */
export function fitEscaped(raw: string, limit: number, escape: (s: string) => string): string {
	const whole = escape(raw);
	if (whole.length <= limit) return whole;
	const points = Array.from(raw);
	let lo = 0;
	let hi = points.length;
	// Invariant: a prefix of `lo` code points fits; binary search because escaping is monotone in length.
	while (lo < hi) {
		const mid = Math.ceil((lo + hi) / 2);
		if (escape(points.slice(0, mid).join("") + ELLIPSIS).length <= limit) lo = mid;
		else hi = mid - 1;
	}
	const out = escape(points.slice(0, lo).join("") + ELLIPSIS);
	return out.length <= limit ? out : "";
}

/** Plain truncation to `limit` UTF-16 units (no escaping). */
export function fit(raw: string, limit: number): string {
	return fitEscaped(raw, limit, (s) => s);
}

/** UTF-8 byte length, for limits counted in bytes (ntfy). */
export function utf8Length(s: string): number {
	return new TextEncoder().encode(s).length;
}

/** Truncates to at most `limit` UTF-8 bytes, on a code point boundary. */
export function fitBytes(raw: string, limit: number): string {
	if (utf8Length(raw) <= limit) return raw;
	const budget = limit - utf8Length(ELLIPSIS);
	let out = "";
	let used = 0;
	for (const cp of raw) {
		const n = utf8Length(cp);
		if (used + n > budget) break;
		out += cp;
		used += n;
	}
	return out + ELLIPSIS;
}
