// Text from an agent made safe to print on an operator's terminal: no control characters that could move the cursor, rewrite a line or set the title.

/**
 * C0 controls except newline and tab, DEL, C1 controls (U+0080..U+009F: U+009B is a one-character
 * CSI on some terminals) and the Unicode bidirectional overrides and isolates, which can make a
 * line read differently from what it holds. An escape sequence loses its ESC and prints as text.
 */
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/** `s` without terminal control characters (see UNSAFE). */
export function printable(s: string): string {
	return s.replace(UNSAFE, "");
}

/** Pretty JSON for the terminal: every string in it (keys too) passed through printable(). */
export function printableJson(value: unknown): string {
	const clean = (v: unknown): unknown => {
		if (typeof v === "string") return printable(v);
		if (Array.isArray(v)) return v.map(clean);
		if (v !== null && typeof v === "object") {
			return Object.fromEntries(Object.entries(v).map(([k, x]) => [printable(k), clean(x)]));
		}
		return v;
	};
	return JSON.stringify(clean(value), null, 2);
}
