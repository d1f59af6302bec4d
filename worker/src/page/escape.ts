// The one way data becomes markup: an `html` template tag that escapes every interpolated value unless it is Html.

/** Markup that is already safe: produced by `html` (or `raw` for constant strings written in this codebase). */
export class Html {
	constructor(readonly value: string) {}
	toString(): string {
		return this.value;
	}
}

const ENTITIES: Record<string, string> = {
	"&": "&amp;",
	"<": "&lt;",
	">": "&gt;",
	'"': "&quot;",
	"'": "&#39;",
};

/** Safe in element text and in quoted attribute values (all templates quote their attributes). */
export function escapeHtml(text: string): string {
	return text.replace(/[&<>"']/g, (ch) => ENTITIES[ch] ?? ch);
}

/**
 * Interpolations: Html is inserted as is, arrays are joined (each item by the same rule), null, undefined
 * and false render nothing, anything else is converted to a string and escaped.
 */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
	let out = strings[0] ?? "";
	values.forEach((v, i) => {
		out += fragment(v) + (strings[i + 1] ?? "");
	});
	return new Html(out);
}

function fragment(v: unknown): string {
	if (v instanceof Html) return v.value;
	if (Array.isArray(v)) return v.map(fragment).join("");
	if (v === null || v === undefined || v === false) return "";
	return escapeHtml(String(v));
}

/** For constant markup from this codebase only (the stylesheet, the script); never for data. */
export function raw(trusted: string): Html {
	return new Html(trusted);
}
