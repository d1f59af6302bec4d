// Turns zod issues into one readable line per problem, each naming the field and what was expected.
import type * as z from "./zod";

type Issue = z.core.$ZodIssue;
type IssueInput = { input?: unknown; code?: string; keys?: readonly string[] };

/**
 * Error callback for a schema node: "missing, expected X" when absent, else "expected X".
 * Given at the node, it also covers the node's checks (min, max, regex), so one phrase says it all.
 */
export function expected(description: string) {
	return (issue: IssueInput) =>
		issue.input === undefined ? `missing, expected ${description}` : `expected ${description}`;
}

/** Error callback for an object node: names unknown fields, and says an object was expected. */
export function objectError(description = "an object") {
	return (issue: IssueInput) => {
		if (issue.code === "unrecognized_keys") {
			const keys = (issue.keys ?? []).map((k) => JSON.stringify(k)).join(", ");
			return `unknown field${(issue.keys?.length ?? 0) > 1 ? "s" : ""} ${keys}`;
		}
		return issue.input === undefined
			? `missing, expected ${description}`
			: `expected ${description}`;
	};
}

/** "a.b[2].c", or `root` for the top level. */
export function issuePath(path: readonly PropertyKey[], root = "(body)"): string {
	let out = "";
	for (const key of path) {
		if (typeof key === "number") out += `[${key}]`;
		else out += out === "" ? String(key) : `.${String(key)}`;
	}
	return out === "" ? root : out;
}

/** One line per distinct (field, message), in order: "term: expected an integer from 0 to 2147483647". */
export function formatIssues(issues: readonly Issue[], root?: string): string[] {
	const lines: string[] = [];
	for (const issue of issues) {
		// Unknown keys read the same everywhere, whichever schema (and error callback) reported them.
		const message =
			issue.code === "unrecognized_keys"
				? `unknown field${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => JSON.stringify(k)).join(", ")}`
				: issue.message;
		const line = `${issuePath(issue.path, root)}: ${message}`;
		if (!lines.includes(line)) lines.push(line);
	}
	return lines;
}
