// Finding 10 of issue 12: a guessable ADMIN_TOKEN is refused (admin routes off, /healthz and the page say
// how to fix it), and wrong tokens are limited per client address, right ones included once past the limit.
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { adminTokenWeakness, estimatedBits, TOKEN_FIX } from "../../worker/src/admin-token";
import { app } from "../../worker/src/api";
import { checkAdminToken } from "../../worker/src/auth";
import { LIMITS } from "../../worker/src/client-limits";
import { summaryMemo } from "../../worker/src/read-memo";
import { testEnv } from "./support/watchdog-harness";

const TOKEN = testEnv.ADMIN_TOKEN as string;
type ErrorBody = { error: { code: string; message: string } };

beforeEach(() => summaryMemo.clear());

function randomToken(bytes: number, encoding: "base64" | "hex"): string {
	const b = crypto.getRandomValues(new Uint8Array(bytes));
	return encoding === "hex"
		? [...b].map((x) => x.toString(16).padStart(2, "0")).join("")
		: btoa(String.fromCharCode(...b));
}

describe("ADMIN_TOKEN strength", () => {
	const weak: [string, string][] = [
		["x", "too short"],
		["lab-admin-token-0123456789", "too short"],
		["test-admin-token-5f0c1d2e", "too short"],
		["a".repeat(64), "repeated"],
		["abcdefgh".repeat(4), "repeated"],
		["0123456789".repeat(4), "repeated"],
		["aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaabbbbb", "too predictable"],
		["contains a space somewhere in the middle!!", "whitespace"],
	];

	it.each(weak)("refuses %j (%s) for every admin route, naming the fix", async (token, why) => {
		const e = { ...env, ADMIN_TOKEN: token };
		expect(adminTokenWeakness(token)).toContain(why);
		// Even the exact token is refused: a guessable token guards nothing.
		expect(await checkAdminToken(e, `Bearer ${token.replace(/\s/g, "")}`)).toBe("weak");
		for (const [method, path] of [
			["POST", "/api/v1/pairs/api/pause"],
			["GET", "/api/v1/pairs/api"],
			["GET", "/api/v1/pairs/api/events"],
		] as const) {
			const res = await app.request(
				path,
				{ method, headers: { authorization: `Bearer ${token}` } },
				e,
			);
			expect(res.status, path).toBe(503);
			const body = (await res.json()) as ErrorBody;
			expect(body.error.code).toBe("admin-token-weak");
			expect(body.error.message).toContain(TOKEN_FIX);
			// The message never quotes the token.
			if (token.length > 1) expect(body.error.message).not.toContain(token);
		}
		const health = await app.request("/healthz", {}, e);
		expect(health.status).toBe(503);
		const report = (await health.json()) as { ok: boolean; problems: string[] };
		expect(report.ok).toBe(false);
		expect(report.problems.join("\n")).toContain(TOKEN_FIX);
		const page = await (await app.request("/", {}, e)).text();
		expect(page).toContain("openssl rand -base64 32 | npx wrangler secret put ADMIN_TOKEN");
	});

	it("accepts random tokens as the docs make them (200 of each kind)", () => {
		for (let i = 0; i < 200; i++) {
			for (const t of [randomToken(32, "base64"), randomToken(32, "hex"), randomToken(16, "hex")]) {
				expect(adminTokenWeakness(t), `${t}: ${estimatedBits(t)} bits`).toBeUndefined();
			}
		}
		expect(adminTokenWeakness(TOKEN)).toBeUndefined();
	});

	it("a token piped in with a trailing newline still works", async () => {
		const e = { ...env, ADMIN_TOKEN: `${TOKEN}\n` };
		expect(await checkAdminToken(e, `Bearer ${TOKEN}`)).toBe("valid");
	});
});

describe("failed admin attempts, per client address", () => {
	const from = (ip: string, token?: string) => ({
		"cf-connecting-ip": ip,
		...(token ? { authorization: `Bearer ${token}` } : {}),
	});

	for (const [label, extra] of [
		["with the ADMIN_FAIL_LIMITER binding", {}],
		["without it (per-isolate counter)", { ADMIN_FAIL_LIMITER: undefined }],
	] as const) {
		it(`past ${LIMITS.adminFailures.limit} wrong tokens a minute, every admin try from that address is 429, the right token too (${label})`, async () => {
			const e = { ...env, ...extra } as Env;
			const ip = `198.51.100.${Math.floor(Math.random() * 250) + 1}`;
			const statuses: number[] = [];
			for (let i = 0; i < LIMITS.adminFailures.limit; i++) {
				statuses.push(
					(await app.request("/api/v1/pairs/api", { headers: from(ip, `guess-${i}`) }, e)).status,
				);
			}
			expect(statuses.every((s) => s === 401)).toBe(true);
			const over = await app.request(
				"/api/v1/pairs/api/pause",
				{ method: "POST", headers: from(ip, "guess-x") },
				e,
			);
			expect(over.status).toBe(429);
			expect(((await over.json()) as ErrorBody).error.code).toBe("too-many-attempts");
			expect(Number(over.headers.get("retry-after"))).toBeGreaterThan(0);
			// The right token from the blocked address gains nothing: guessing faster cannot win.
			const right = await app.request("/api/v1/pairs/api", { headers: from(ip, TOKEN) }, e);
			expect(right.status).toBe(429);
			// The page refuses the same way rather than telling a right guess from a wrong one.
			expect((await app.request("/", { headers: from(ip, TOKEN) }, e)).status).toBe(429);
			// Anonymous reads from that address are not blocked by it; other addresses are unaffected.
			expect((await app.request("/api/v1/pairs", { headers: from(ip) }, e)).status).toBe(200);
			const other = `192.0.2.${Math.floor(Math.random() * 250) + 1}`;
			expect(
				(await app.request("/api/v1/pairs/api", { headers: from(other, TOKEN) }, e)).status,
			).toBe(200);
		});
	}
});
