// Wire schemas: strict command bodies with messages naming the field; tolerant response parsing.
import { describe, expect, it } from "vitest";
import {
	CommandRequestSchema,
	ErrorResponseSchema,
	formatIssues,
	fromBase64,
	fromBase64Url,
	PROTOCOL_VERSION,
	StatusResponseSchema,
	toBase64Url,
} from "../../protocol";

function problems(value: unknown): string[] {
	const parsed = CommandRequestSchema.safeParse(value);
	return parsed.success ? [] : formatIssues(parsed.error.issues);
}

describe("CommandRequestSchema", () => {
	it("accepts a minimal body and defaults waitMs to 0", () => {
		expect(CommandRequestSchema.parse({ opId: "home:promote:3:1", term: 3 })).toEqual({
			opId: "home:promote:3:1",
			term: 3,
			waitMs: 0,
		});
	});

	const cases: [string, unknown, string][] = [
		["unknown field", { opId: "a", term: 1, force: true }, '(body): unknown field "force"'],
		["missing opId", { term: 1 }, "opId: missing, expected a string of 1..128 characters"],
		["empty opId", { opId: "", term: 1 }, "opId: expected a string of 1..128"],
		["opId with a space", { opId: "a b", term: 1 }, "opId: expected a string"],
		["opId too long", { opId: "a".repeat(129), term: 1 }, "opId: expected a string of 1..128"],
		["negative term", { opId: "a", term: -1 }, "term: expected an integer from 0 to 2147483647"],
		["fractional term", { opId: "a", term: 1.5 }, "term: expected an integer from 0 to 2147483647"],
		["string term", { opId: "a", term: "1" }, "term: expected an integer from 0 to 2147483647"],
		[
			"waitMs too large",
			{ opId: "a", term: 1, waitMs: 25_001 },
			"waitMs: expected an integer from 0 to 25000",
		],
		["array body", [], "(body): expected a JSON object"],
		["null body", null, "(body): expected a JSON object"],
	];
	for (const [what, value, message] of cases) {
		it(`${what} -> "${message}"`, () => {
			const lines = problems(value);
			expect(lines.some((line) => line.startsWith(message))).toBe(true);
		});
	}

	it("names every bad field at once", () => {
		expect(problems({ opId: "", term: -1, extra: 1 })).toHaveLength(3);
	});
});

describe("response schemas", () => {
	it("parse a status answer and tolerate fields a newer agent adds", () => {
		const status = {
			version: PROTOCOL_VERSION,
			role: "standby",
			term: 4,
			gatewayActive: false,
			lastOperation: {
				opId: "x",
				action: "promote",
				term: 4,
				status: "interrupted",
				startedAt: 1,
				steps: [{ step: "exec", status: "interrupted", ms: 5 }],
			},
			peer: {
				ok: false,
				latencyMs: 1500,
				reason: "timeout",
				consecutiveFailures: 3,
				consecutiveSuccesses: 0,
				checkedAt: 10,
				ageMs: 20,
			},
			now: 30,
			futureField: "ignored",
		};
		expect(StatusResponseSchema.parse(status).peer?.reason).toBe("timeout");
		expect(StatusResponseSchema.safeParse({ ...status, role: "leader" }).success).toBe(false);
	});

	it("parse an error answer", () => {
		expect(
			ErrorResponseSchema.parse({ error: { code: "stale-term", message: "m" } }).error.code,
		).toBe("stale-term");
	});
});

describe("encoding", () => {
	it("base64url round trips every length and rejects non-canonical text", () => {
		for (let n = 0; n < 40; n++) {
			const bytes = crypto.getRandomValues(new Uint8Array(n));
			expect(fromBase64Url(toBase64Url(bytes))).toEqual(bytes);
		}
		expect(fromBase64Url("A")).toBeNull();
		expect(fromBase64Url("AB")).toBeNull(); // low bits set: not the canonical spelling of any byte
		expect(fromBase64Url("AA=")).toBeNull();
		expect(fromBase64("AA")).toBeNull();
		expect(fromBase64("AA==")).toEqual(new Uint8Array([0]));
	});
});
