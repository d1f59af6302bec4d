import { runDurableObjectAlarm } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { app } from "../../worker/src/api";
import { loadConfig } from "../../worker/src/config-cache";
import { healthReport } from "../../worker/src/health";
import type { PairSummary } from "../../worker/src/pair-view";
import { summaryMemo } from "../../worker/src/read-memo";
import {
	dropAlarm,
	setGateway,
	TestClock,
	testEnv,
	useClock,
	watchdog,
} from "./support/watchdog-harness";

const TOKEN = testEnv.ADMIN_TOKEN as string;
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
type ErrorBody = { error: { code: string; message: string; field?: string } };

const post = (path: string, headers: Record<string, string> = {}, body?: string) =>
	app.request(path, { method: "POST", headers, body }, env);

// Each test reads what it just ticked: the anonymous memo (read-memo.ts) has its own tests in cost.test.ts.
beforeEach(() => summaryMemo.clear());

afterAll(async () => {
	for (const g of ["g-api", "g-api-ops", "g-mixed"]) await dropAlarm(watchdog(g));
});

describe("GET /healthz", () => {
	it("answers 503 naming the bad field of the bad pair, while the good pair of its group ticks", async () => {
		const clock = new TestClock();
		await setGateway("mixed-good", "up");
		const stub = watchdog("g-mixed");
		await stub.ensureAlarm("g-mixed", clock.now);
		await useClock(stub, clock);
		expect(await runDurableObjectAlarm(stub)).toBe(true);

		const res = await app.request("/healthz", {}, env);
		expect(res.status).toBe(503);
		const body = (await res.json()) as ReturnType<typeof healthReport>;
		expect(body.ok).toBe(false);
		expect(body.errors).toContainEqual({
			pair: "mixed-broken",
			path: expect.stringMatching(/^pairs\[\d+\]\.failThreshold$/),
			message: expect.stringContaining("expected number to be >=1"),
		});
		expect(body.problems.join("\n")).toMatch(/failThreshold \(pair mixed-broken, not watched\)/);
		expect(body.pairs.find((p) => p.name === "mixed-good")).toMatchObject({
			watched: true,
			stale: false,
			state: "primary-active",
		});
		expect(body.pairs.find((p) => p.name === "mixed-broken")).toMatchObject({ watched: false });
	});

	it("is ok (200) only when every configured pair ticked recently", () => {
		const raw = JSON.stringify({
			pairs: [
				{
					name: "solo",
					primary: { readyUrl: "https://primary.example.test/readyz" },
					standby: {
						agentUrl: "https://standby.example.test",
						agentPublicKey: "ed25519:11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
					},
				},
			],
		});
		const config = loadConfig(raw);
		const summary = (lastTickAt: number | null): PairSummary => ({
			name: "solo",
			group: "default",
			watched: true,
			configErrors: [],
			state: "primary-active",
			active: "primary",
			term: 0,
			reason: "",
			since: 0,
			lastTickAt,
			nextTickAt: null,
			lastObservation: null,
		});
		const now = 1_800_000_000_000;
		expect(healthReport(config, [summary(now - 5_000)], [], now)).toMatchObject({
			ok: true,
			problems: [],
		});
		const stale = healthReport(config, [summary(now - 60_000)], [], now);
		expect(stale.ok).toBe(false);
		expect(stale.problems).toEqual(["pair solo: last tick 60 s ago"]);
		expect(healthReport(config, [summary(null)], [], now).problems[0]).toContain("not ticked yet");
		expect(healthReport(config, [summary(now)], ["default"], now).problems).toEqual([
			"group default: its Durable Object did not answer",
		]);
	});
});

describe("GET /api/v1/pairs", () => {
	it("lists every configured pair, the bad one with its errors", async () => {
		const res = await exports.default.fetch("http://watchdog.test/api/v1/pairs");
		expect(res.status).toBe(200);
		const body = (await res.json()) as { pairs: PairSummary[] };
		const names = body.pairs.map((p) => p.name);
		expect(names).toContain("api");
		expect(names).toContain("mixed-broken");
		expect(body.pairs.find((p) => p.name === "mixed-broken")?.configErrors[0]?.path).toMatch(
			/failThreshold$/,
		);
	});

	it("shows one pair's detail, with observations after a tick", async () => {
		const clock = new TestClock();
		await setGateway("api", "up");
		const stub = watchdog("g-api");
		await stub.ensureAlarm("g-api", clock.now);
		await useClock(stub, clock);
		await runDurableObjectAlarm(stub);
		const res = await app.request(
			"/api/v1/pairs/api?observations=5",
			{ headers: bearer(TOKEN) },
			env,
		);
		expect(res.status).toBe(200);
		const p = (await res.json()) as {
			state: string;
			term: number;
			counts: { fails: number; oks: number };
			observations: unknown[];
			nextAlarmAt: number;
			witnesses: { standby: { summary: string } };
		};
		expect(p).toMatchObject({ state: "primary-active", term: 0, counts: { fails: 0, oks: 1 } });
		expect(p.observations).toHaveLength(1);
		expect(p.nextAlarmAt).toBe(clock.now + 5_000);
		expect(p.witnesses.standby.summary).toContain("no agent client yet");
	});

	it("answers 404 in JSON for an unknown pair", async () => {
		const res = await app.request("/api/v1/pairs/nope", { headers: bearer(TOKEN) }, env);
		expect(res.status).toBe(404);
		const body = (await res.json()) as ErrorBody;
		expect(body.error).toMatchObject({ code: "unknown-pair", field: "pair" });
		expect(body.error.message).toContain('no pair named "nope"');
	});

	it("answers 400 naming the field for a malformed pair name or limit", async () => {
		const bad = await app.request("/api/v1/pairs/Bad_Name", { headers: bearer(TOKEN) }, env);
		expect(bad.status).toBe(400);
		expect(((await bad.json()) as ErrorBody).error).toMatchObject({
			code: "bad-request",
			field: "pair",
			message: expect.stringContaining("lowercase letters"),
		});
		for (const limit of ["abc", "0", "5000", "1.5", "-1"]) {
			const res = await app.request(
				`/api/v1/pairs/api/events?limit=${limit}`,
				{ headers: bearer(TOKEN) },
				env,
			);
			expect(res.status).toBe(400);
			const body = (await res.json()) as ErrorBody;
			expect(body.error.field).toBe("limit");
			expect(body.error.message).toContain("limit: expected an integer from 1 to 1000");
		}
		for (const n of ["abc", "0", "2001"]) {
			const obs = await app.request(
				`/api/v1/pairs/api?observations=${n}`,
				{ headers: bearer(TOKEN) },
				env,
			);
			expect(obs.status).toBe(400);
			const body = (await obs.json()) as ErrorBody;
			expect(body.error.field).toBe("observations");
			expect(body.error.message).toContain("observations: expected an integer from 1 to 2000");
		}
	});

	it("serves the event log", async () => {
		const res = await app.request(
			"/api/v1/pairs/api/events?limit=3",
			{ headers: bearer(TOKEN) },
			env,
		);
		expect(res.status).toBe(200);
		expect(await res.json()).toMatchObject({ pair: "api", events: expect.any(Array) });
	});

	it("answers unknown routes with a JSON 404", async () => {
		const res = await app.request("/nowhere", {}, env);
		expect(res.status).toBe(404);
		expect(((await res.json()) as ErrorBody).error.code).toBe("not-found");
	});
});

describe("operator endpoints", () => {
	it("require the admin token: missing and wrong answer 401 with a challenge", async () => {
		const missing = await post("/api/v1/pairs/api/pause");
		expect(missing.status).toBe(401);
		expect(missing.headers.get("www-authenticate")).toMatch(/^Bearer/);
		expect(((await missing.json()) as ErrorBody).error).toMatchObject({
			code: "unauthorized",
			message: expect.stringContaining("Authorization: Bearer"),
		});

		for (const headers of [bearer("wrong-token"), bearer(`${TOKEN}x`), { authorization: TOKEN }]) {
			const res = await post("/api/v1/pairs/api/pause", headers);
			expect(res.status).toBe(401);
			expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
		}
		// Nothing happened.
		const detail = (await (
			await app.request("/api/v1/pairs/api", { headers: bearer(TOKEN) }, env)
		).json()) as {
			state: string | null;
		};
		expect(detail.state).not.toBe("paused");
	});

	it("pause and resume with the right token; a command that does not apply is a 409", async () => {
		const paused = await post("/api/v1/pairs/api/pause", bearer(TOKEN));
		expect(paused.status).toBe(200);
		expect(await paused.json()).toMatchObject({
			pair: "api",
			command: "pause",
			state: { state: "paused" },
			events: [expect.objectContaining({ kind: "paused" })],
		});
		const again = await post("/api/v1/pairs/api/pause", bearer(TOKEN));
		expect(again.status).toBe(409);
		expect(((await again.json()) as ErrorBody).error).toMatchObject({
			code: "refused",
			message: "the pair is already paused",
		});
		const resumed = await post("/api/v1/pairs/api/resume", bearer(TOKEN));
		expect(resumed.status).toBe(200);
		expect(await resumed.json()).toMatchObject({ state: { state: "primary-active" } });
		const events = (await (
			await app.request("/api/v1/pairs/api/events", { headers: bearer(TOKEN) }, env)
		).json()) as {
			events: { kind: string }[];
		};
		expect(events.events.map((e) => e.kind)).toEqual(["resumed", "paused"]);
	});

	it("a forced promote reports honestly that no agent client exists yet", async () => {
		const res = await post("/api/v1/pairs/api-ops/promote", bearer(TOKEN));
		expect(res.status).toBe(200);
		const body = (await res.json()) as {
			state: { state: string; term: number };
			commands: { action: string; result: string; detail: string }[];
		};
		expect(body.commands).toEqual([
			{
				action: "promote",
				term: 1,
				opId: "api-ops:promote:t1:a1",
				result: "unsupported",
				detail: "no agent client yet: would promote (term 1, op api-ops:promote:t1:a1)",
			},
		]);
		expect(body.state).toMatchObject({ state: "held", term: 1 });
		// Held: demote and failback do not apply, and say why.
		const failback = await post("/api/v1/pairs/api-ops/failback", bearer(TOKEN));
		expect(failback.status).toBe(409);
	});

	it("answers 503 telling how to set ADMIN_TOKEN when it is unset", async () => {
		const res = await app.request(
			"/api/v1/pairs/api/pause",
			{ method: "POST", headers: bearer(TOKEN) },
			{ ...env, ADMIN_TOKEN: undefined },
		);
		expect(res.status).toBe(503);
		expect(((await res.json()) as ErrorBody).error).toMatchObject({
			code: "admin-token-unset",
			message: expect.stringContaining("wrangler secret put ADMIN_TOKEN"),
		});
	});

	it("rejects an oversized body with 413, a bad pair name with 400, a pair with config errors with 409", async () => {
		const big = await post("/api/v1/pairs/api/pause", bearer(TOKEN), "x".repeat(4096));
		expect(big.status).toBe(413);
		expect(((await big.json()) as ErrorBody).error.code).toBe("body-too-large");

		const bad = await post("/api/v1/pairs/NOPE!/pause", bearer(TOKEN));
		expect(bad.status).toBe(400);
		expect(((await bad.json()) as ErrorBody).error.field).toBe("pair");

		const broken = await post("/api/v1/pairs/mixed-broken/pause", bearer(TOKEN));
		expect(broken.status).toBe(409);
		expect(((await broken.json()) as ErrorBody).error).toMatchObject({ code: "config-error" });

		const unknown = await post("/api/v1/pairs/nope/resume", bearer(TOKEN));
		expect(unknown.status).toBe(404);
	});
});

describe("read access", () => {
	const privateEnv = { ...env, STATUS_PAGE: "private" };

	it("pair detail and the event log need the admin token: missing or wrong answer 401 with a challenge", async () => {
		for (const path of ["/api/v1/pairs/api", "/api/v1/pairs/api/events", "/api/v1/pairs/nope"]) {
			const missing = await app.request(path, {}, env);
			expect(missing.status, path).toBe(401);
			expect(missing.headers.get("www-authenticate")).toMatch(/^Bearer/);
			expect(((await missing.json()) as ErrorBody).error).toMatchObject({
				code: "unauthorized",
				message: expect.stringContaining("Authorization: Bearer"),
			});
			const wrong = await app.request(path, { headers: bearer("wrong-token") }, env);
			expect(wrong.status, path).toBe(401);
			expect(((await wrong.json()) as ErrorBody).error.message).toBe("the admin token is wrong");
		}
		const ok = await app.request("/api/v1/pairs/api", { headers: bearer(TOKEN) }, env);
		expect(ok.status).toBe(200);
	});

	it("pair detail is off, saying how to turn it on, while no admin token is set", async () => {
		const res = await app.request(
			"/api/v1/pairs/api",
			{ headers: bearer(TOKEN) },
			{ ...env, ADMIN_TOKEN: undefined },
		);
		expect(res.status).toBe(503);
		expect(((await res.json()) as ErrorBody).error).toMatchObject({
			code: "admin-token-unset",
			message: expect.stringContaining("wrangler secret put ADMIN_TOKEN"),
		});
	});

	it("STATUS_PAGE=private: the summary needs the token too", async () => {
		const missing = await app.request("/api/v1/pairs", {}, privateEnv);
		expect(missing.status).toBe(401);
		expect(missing.headers.get("www-authenticate")).toMatch(/^Bearer/);
		const wrong = await app.request("/api/v1/pairs", { headers: bearer("nope") }, privateEnv);
		expect(wrong.status).toBe(401);
		const ok = await app.request("/api/v1/pairs", { headers: bearer(TOKEN) }, privateEnv);
		expect(ok.status).toBe(200);
		const body = (await ok.json()) as { pairs: PairSummary[] };
		expect(body.pairs.map((p) => p.name)).toContain("api");
	});

	it("STATUS_PAGE=private: /healthz keeps its verdict (status code) but names nothing without the token", async () => {
		const anon = await app.request("/healthz", {}, privateEnv);
		const full = await app.request("/healthz", { headers: bearer(TOKEN) }, privateEnv);
		// The test config has a broken pair, so the verdict is 503 either way.
		expect(anon.status).toBe(503);
		expect(full.status).toBe(503);
		const anonBody = (await anon.json()) as Record<string, unknown>;
		expect(Object.keys(anonBody).sort()).toEqual(["message", "ok", "private"]);
		expect(anonBody).toMatchObject({ ok: false, private: true });
		expect(JSON.stringify(anonBody)).not.toContain("mixed-broken");
		const fullBody = (await full.json()) as ReturnType<typeof healthReport>;
		expect(fullBody.pairs.map((p) => p.name)).toContain("mixed-broken");
	});

	it("a STATUS_PAGE value other than public or private fails closed and /healthz names it", async () => {
		const typo = { ...env, STATUS_PAGE: "pubic" };
		expect((await app.request("/api/v1/pairs", {}, typo)).status).toBe(401);
		const res = await app.request("/healthz", { headers: bearer(TOKEN) }, typo);
		expect(res.status).toBe(503);
		const body = (await res.json()) as ReturnType<typeof healthReport>;
		expect(body.problems).toContain(
			'STATUS_PAGE: expected "public" or "private", got "pubic"; treated as "private"',
		);
	});
});
