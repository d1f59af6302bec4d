// The one place public (tokenless) views are built: every free-text field loses URLs, addresses, hostnames and paths.
//
// Texts in a summary come from many places (decide()'s reasons, the standby's status line, probe and
// agent errors, config messages), and any of them may quote where a request went: an agent's URL in a
// 502 report, a hostname in a DNS error. Rather than trust each producer, the public view walks the
// whole summary and scrubs every string that is not an identifier, so a field added later is covered.

/** Keys whose values are identifiers the public page needs as they are (validated names, enums, config paths). */
const IDENTIFIER_KEYS: ReadonlySet<string> = new Set([
	"name",
	"group",
	"pair",
	"path",
	"state",
	"active",
	"kind",
	"severity",
	"from",
	"to",
	"witness",
	"field",
]);

// Order matters: whole URLs first, so their hosts and paths go as one "[url]".
const RULES: readonly [RegExp, string][] = [
	// scheme://anything up to whitespace (http, https, ws, file, ...).
	[/\b[a-z][a-z0-9+.-]*:\/\/\S*/gi, "[url]"],
	// user@host forms (ssh remotes, emails).
	[/\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+(?::\S*)?/g, "[address]"],
	// IPv6 in brackets, with or without a port.
	[/\[[0-9a-f:.]*:[0-9a-f:.]*\](?::\d{1,5})?/gi, "[address]"],
	// Bare IPv6 with a "::" or all eight groups (a time like 14:03:22 has neither).
	[/(?<![\w:])(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}(?![\w:])/gi, "[address]"],
	[
		/(?<![\w:])(?:[0-9a-f]{1,4}(?::[0-9a-f]{1,4})*)?::(?:[0-9a-f]{1,4}(?::[0-9a-f]{1,4})*)?(?![\w:])/gi,
		"[address]",
	],
	// IPv4, with an optional port.
	[/\b(?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5})?\b/g, "[address]"],
	// Hostnames: dotted labels ending in a letter label (so "1.5" and "v2.0" stay), optional port.
	[
		/\b(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?\b(?::\d{1,5})?/gi,
		"[host]",
	],
	[/\blocalhost(?::\d{1,5})?\b/gi, "[host]"],
	// Absolute and home paths, where a path can start: after a space, a bracket, a quote, = or :.
	[/(?<=^|[\s(["'=:,])~?\/[^\s"'<>)]*/g, "[path]"],
	// Windows paths.
	[/\b[a-z]:\\[^\s"'<>]*/gi, "[path]"],
];

/** `text` without URLs, IP addresses, hostnames and filesystem paths (each replaced by a marker). */
export function scrubText(text: string): string {
	let out = text;
	for (const [re, marker] of RULES) out = out.replace(re, marker);
	return out;
}

/**
 * A deep copy of `value` with every string scrubbed (scrubText), except the values of identifier keys.
 * Numbers, booleans and nulls pass unchanged. For JSON-shaped data (what RPC returns).
 */
export function publicView<T>(value: T): T {
	return scrub(value, undefined) as T;
}

function scrub(value: unknown, key: string | undefined): unknown {
	if (typeof value === "string")
		return key !== undefined && IDENTIFIER_KEYS.has(key) ? value : scrubText(value);
	if (Array.isArray(value)) return value.map((v) => scrub(v, key));
	if (value !== null && typeof value === "object") {
		const out: Record<string, unknown> = {};
		for (const [k, v] of Object.entries(value)) out[k] = scrub(v, k);
		return out;
	}
	return value;
}
