// docs/configuration.md cannot drift from the code: its tables are compared with the zod schemas and env var lists.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { AgentConfigSchema } from "../../agent/src/config";
import { STEP_TYPES, StepSchema } from "../../agent/src/steps/schema";
import { PairConfigSchema, parseWatchConfig } from "../../worker/src/config";
import { NOTIFY_VARS } from "../../worker/src/notify/config";
import { watchdogKeys } from "./helpers";

const root = resolve(import.meta.dirname, "../..");
const read = (file: string) => readFileSync(resolve(root, file), "utf8");
const DOC = "docs/configuration.md";

// ---- the schema side -------------------------------------------------------------------------

/** The slice of JSON Schema that z.toJSONSchema produces for these configs. */
interface Json {
	type?: string;
	properties?: Record<string, Json>;
	required?: string[];
	default?: unknown;
	minimum?: number;
	maximum?: number;
	enum?: unknown[];
	const?: unknown;
	anyOf?: Json[];
	oneOf?: Json[];
}

interface SchemaField {
	path: string;
	/** No `properties`: a value the user writes, not a container of fields. */
	leaf: boolean;
	required: boolean;
	hasDefault: boolean;
	default: unknown;
	min?: number;
	max?: number;
	/** Allowed literal values (z.enum, z.literal in a union). */
	values: unknown[];
}

function jsonSchema(schema: z.core.$ZodType): Json {
	// "input": fields with a default are not required (what a user may leave out); refinements are skipped.
	return z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as Json;
}

/** Every field path of an object schema, containers included, e.g. `witnesses.tailscale.deviceId`. */
function fieldsOf(node: Json, skip: readonly string[] = [], prefix = ""): SchemaField[] {
	const out: SchemaField[] = [];
	for (const [key, child] of Object.entries(node.properties ?? {})) {
		const path = prefix === "" ? key : `${prefix}.${key}`;
		if (skip.includes(path)) continue;
		const branches = child.anyOf ?? child.oneOf ?? [child];
		const mins = branches.flatMap((b) => (b.minimum === undefined ? [] : [b.minimum]));
		const maxes = branches.flatMap((b) => (b.maximum === undefined ? [] : [b.maximum]));
		out.push({
			path,
			leaf: child.properties === undefined,
			required: node.required?.includes(key) ?? false,
			hasDefault: "default" in child,
			default: child.default,
			...(mins.length > 0 ? { min: Math.min(...mins) } : {}),
			...(maxes.length > 0 ? { max: Math.max(...maxes) } : {}),
			values: branches.flatMap((b) => b.enum ?? ("const" in b ? [b.const] : [])),
		});
		if (child.properties !== undefined) out.push(...fieldsOf(child, skip, path));
	}
	return out;
}

const pairFields = fieldsOf(jsonSchema(PairConfigSchema));
const agentFields = fieldsOf(jsonSchema(AgentConfigSchema));
const stepSchemas = (jsonSchema(StepSchema).oneOf ?? []).map((s) => ({
	type: String(s.properties?.type?.const),
	// `type` is the discriminator: it names the table, it is not a row.
	fields: fieldsOf(s, ["type"]),
}));

/**
 * The top level and groups are checked by hand in parseWatchConfig, not by an exported schema, so their
 * fields are read from what it accepts: the unknown-field message lists the top-level keys, and an empty
 * group is told which fields it lacks.
 */
function topLevelFields(): SchemaField[] {
	const pair = {
		name: "p",
		primary: { readyUrl: "https://p.example/readyz" },
		standby: { agentUrl: "https://s.example" },
	};
	const unknown = parseWatchConfig({ pairs: [pair], zzz: 1 }).errors.find((e) => e.path === "zzz");
	const top = [...(unknown?.message.matchAll(/"([a-zA-Z]+)"/g) ?? [])].map((m) => m[1] as string);
	const groupErrors = parseWatchConfig({ pairs: [pair], groups: [{}] }).errors;
	const group = groupErrors.flatMap((e) => {
		const m = /^groups\[0\]\.([a-zA-Z]+)$/.exec(e.path);
		return m?.[1] ? [`groups[].${m[1]}`] : [];
	});
	const field = (path: string, required: boolean): SchemaField => ({
		path,
		leaf: true,
		required,
		hasDefault: false,
		default: undefined,
		values: [],
	});
	// `pairs` is required (an empty document is refused); `groups` may be left out.
	const noPairs = parseWatchConfig({}).errors.some((e) => e.path === "pairs");
	return [
		...top.map((k) => field(k, k === "pairs" ? noPairs : false)),
		...group.map((k) => field(k, true)),
	];
}

/** Every variable the Worker reads: secrets.d.ts's Env, wrangler.toml's [vars] and its bindings. */
function workerEnvNames(): string[] {
	const secrets = read("worker/src/secrets.d.ts");
	const body = /interface Env \{([\s\S]*?)\n\}/.exec(secrets)?.[1] ?? "";
	const fromEnv = [...body.matchAll(/^\s*([A-Z][A-Z0-9_]*)\??:/gm)].map((m) => m[1] as string);
	const toml = read("wrangler.toml");
	const vars = /^\[vars\]\n([\s\S]*?)(?=^\[|(?![\s\S]))/m.exec(toml)?.[1] ?? "";
	const fromVars = [...vars.matchAll(/^([A-Z][A-Z0-9_]*)\s*=/gm)].map((m) => m[1] as string);
	const bindings = [...toml.matchAll(/^\[\[[a-z_.]+\]\]\nname = "([A-Z0-9_]+)"/gm)].map(
		(m) => m[1] as string,
	);
	return [...new Set([...fromEnv, ...fromVars, ...bindings])].sort();
}

// ---- the document side -----------------------------------------------------------------------

interface Row {
	line: number;
	cells: Record<string, string>;
}

/** Splits a Markdown table row on unescaped pipes. */
function cellsOf(line: string): string[] {
	const inner = line.trim().replace(/^\|/, "").replace(/\|$/, "");
	return inner.split(/(?<!\\)\|/).map((c) => c.trim().replaceAll("\\|", "|"));
}

/** The table right after `<!-- checked: NAME -->`, keyed by header; the first column must be a `code` name. */
function checkedTable(doc: string, name: string): Row[] | undefined {
	const lines = doc.split("\n");
	const at = lines.findIndex((l) => l.trim() === `<!-- checked: ${name} -->`);
	if (at < 0) return undefined;
	let i = at + 1;
	while (lines[i]?.trim() === "") i++;
	const header = cellsOf(lines[i] ?? "");
	const rows: Row[] = [];
	for (i += 2; lines[i]?.trim().startsWith("|"); i++) {
		const cells = cellsOf(lines[i] ?? "");
		rows.push({
			line: i + 1,
			cells: Object.fromEntries(header.map((h, k) => [h, cells[k] ?? ""])),
		});
	}
	return rows;
}

/** `` `name` `` -> name. */
function codeName(cell: string): string | undefined {
	return /^`([^`]+)`$/.exec(cell)?.[1];
}

function checkedNames(doc: string): string[] {
	return [...doc.matchAll(/<!-- checked: ([a-z0-9.-]+) -->/g)].map((m) => m[1] as string);
}

/** What the default column must say for a field. */
function expectedDefault(f: SchemaField): string {
	if (f.required) return "required";
	if (!f.hasDefault) return "none";
	const d = f.default;
	// A list of steps reads as its step types.
	if (Array.isArray(d) && d.every((s) => typeof s === "object" && s !== null && "type" in s)) {
		return d.map((s) => `\`${(s as { type: string }).type}\``).join(", ");
	}
	return `\`${JSON.stringify(d)}\``;
}

/** Compares one checked table with a schema's fields; returns every mismatch, each naming the row. */
function compare(
	rows: readonly Row[],
	fields: readonly SchemaField[],
	opts: { ranges: boolean },
): string[] {
	const problems: string[] = [];
	const byPath = new Map(fields.map((f) => [f.path, f]));
	const documented = new Set<string>();
	for (const row of rows) {
		const path = codeName(row.cells.field ?? "");
		if (path === undefined) {
			problems.push(
				`line ${row.line}: the field column must be one \`name\`, got ${JSON.stringify(row.cells.field)}`,
			);
			continue;
		}
		if (documented.has(path)) problems.push(`line ${row.line}: ${path} is listed twice`);
		documented.add(path);
		const f = byPath.get(path);
		if (!f) {
			problems.push(`line ${row.line}: ${path} is documented but the schema has no such field`);
			continue;
		}
		// A container's default is its fields' defaults; only say whether it must be written.
		const want = f.leaf || f.required || !f.hasDefault ? expectedDefault(f) : undefined;
		if (want !== undefined && row.cells.default !== want) {
			problems.push(
				`line ${row.line}: ${path} default is "${row.cells.default}", the schema says "${want}"`,
			);
		}
		if (opts.ranges) {
			const range = f.min !== undefined && f.max !== undefined ? `\`${f.min}..${f.max}\`` : "";
			if ((row.cells.range ?? "") !== range) {
				problems.push(
					`line ${row.line}: ${path} range is "${row.cells.range}", the schema says "${range}"`,
				);
			}
		}
		for (const v of f.values) {
			if (!(row.cells.type ?? "").includes(`\`${JSON.stringify(v)}\``)) {
				problems.push(`line ${row.line}: ${path} type should list \`${JSON.stringify(v)}\``);
			}
		}
	}
	for (const f of fields) {
		if (f.leaf && !documented.has(f.path))
			problems.push(`${f.path} is in the schema but not documented`);
	}
	return problems;
}

// ---- the tests -------------------------------------------------------------------------------

const doc = read(DOC);

function table(name: string): Row[] {
	const rows = checkedTable(doc, name);
	if (!rows) throw new Error(`${DOC} has no table marked <!-- checked: ${name} -->`);
	return rows;
}

describe(DOC, () => {
	it("documents every WATCHDOG_CONFIG pair field with its default, range and values, and nothing else", () => {
		expect(pairFields.map((f) => f.path)).toContain("witnesses.quorum"); // the walker sees nested fields
		expect(compare(table("worker.pair"), pairFields, { ranges: true })).toEqual([]);
	});

	it("documents the top level and groups of WATCHDOG_CONFIG", () => {
		const fields = topLevelFields();
		expect(fields.map((f) => f.path).sort()).toEqual([
			"groups",
			"groups[].name",
			"groups[].pairs",
			"pairs",
		]);
		expect(compare(table("worker.top"), fields, { ranges: false })).toEqual([]);
	});

	it("documents every agent config field", () => {
		expect(compare(table("agent.config"), agentFields, { ranges: true })).toEqual([]);
	});

	it("documents every step type and each one's options with defaults and ranges", () => {
		expect(stepSchemas.map((s) => s.type).sort()).toEqual([...STEP_TYPES].sort());
		for (const step of stepSchemas) {
			const problems = compare(table(`agent.step.${step.type}`), step.fields, { ranges: true });
			expect(problems, step.type).toEqual([]);
		}
	});

	it("documents every Worker variable, secret and binding, and no other", () => {
		const names = workerEnvNames();
		// Sanity: the parsers found the lists (an empty list would pass vacuously).
		expect(names).toEqual(
			expect.arrayContaining(["ADMIN_TOKEN", "WATCHDOG_CONFIG", "WATCHDOG", ...NOTIFY_VARS]),
		);
		const rows = table("worker.env");
		const documented = rows.map((r) => codeName(r.cells.variable ?? "") ?? `?${r.cells.variable}`);
		expect(documented.slice().sort()).toEqual(names);
		for (const r of rows) expect(["var", "secret", "binding", "test-only"]).toContain(r.cells.kind);
	});

	it("has no checked table the test does not know", () => {
		const known = [
			"worker.top",
			"worker.pair",
			"worker.env",
			"agent.config",
			...STEP_TYPES.map((t) => `agent.step.${t}`),
		];
		expect(checkedNames(doc).sort()).toEqual(known.sort());
	});

	it("has JSON examples that the schemas accept", async () => {
		const { publicKeyText } = await watchdogKeys();
		const blocks = [...doc.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => m[1] as string);
		expect(blocks.length).toBeGreaterThanOrEqual(4);
		for (const text of blocks) {
			// Examples carry a placeholder where the key from `keygen` goes.
			const value: unknown = JSON.parse(text.replaceAll(/ed25519:[A-Z_]+/g, publicKeyText));
			if (Array.isArray(value)) {
				expect(z.array(StepSchema).safeParse(value).error, text).toBeUndefined();
			} else if (typeof value === "object" && value !== null && "pairs" in value) {
				expect(parseWatchConfig(value).errors, text).toEqual([]);
			} else if (typeof value === "object" && value !== null && "role" in value) {
				expect(AgentConfigSchema.safeParse(value).error, text).toBeUndefined();
			} else {
				throw new Error(`a JSON example the test cannot classify:\n${text}`);
			}
		}
	});

	it("catches drift: an undocumented field, a wrong default and an unknown field are all reported", () => {
		const rows = table("worker.pair");
		const extra: SchemaField = {
			path: "newField",
			leaf: true,
			required: false,
			hasDefault: true,
			default: 1,
			values: [],
		};
		expect(compare(rows, [...pairFields, extra], { ranges: true })).toEqual([
			"newField is in the schema but not documented",
		]);
		const changed = pairFields.map((f) => (f.path === "failThreshold" ? { ...f, default: 4 } : f));
		expect(compare(rows, changed, { ranges: true }).join("\n")).toMatch(
			/failThreshold default is "`3`", the schema says "`4`"/,
		);
		const fewer = pairFields.filter((f) => f.path !== "commandAttempts");
		expect(compare(rows, fewer, { ranges: true }).join("\n")).toMatch(
			/commandAttempts is documented but the schema has no such field/,
		);
	});
});
