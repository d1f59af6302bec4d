// What each route costs the Durable Object, counted: billed object requests (every call on a stub) and
// rows read (cursor.rowsRead, summed by the Store). Targets from issue 12: one open admin tab for three
// pairs stays under 100,000 rows read and 10,000 object requests a day, and an anonymous flood costs one
// call per group per memo window. The figures printed here are the ones docs/cost.md quotes.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { app } from "../../worker/src/api";
import { LIMITS } from "../../worker/src/client-limits";
import { MEMO_MS, summaryMemo } from "../../worker/src/read-memo";
import type { Store } from "../../worker/src/store";
import type { Watchdog } from "../../worker/src/watchdog";
import {
	dropAlarm,
	setGateway,
	TestClock,
	testEnv,
	useClock,
	watchdog,
} from "./support/watchdog-harness";

const TOKEN = testEnv.ADMIN_TOKEN as string;
const GROUP = "g-cost";
const PAIRS = ["cost-a", "cost-b", "cost-c"];
const DAY_S = 86_400;
// The admin page's base refresh (script.ts): the worst case, with no backoff at all.
const REFRESH_S = 10;

/** The Worker sees only the three-pair group; the object's own config (the test bindings) has it too. */
function costConfig(): string {
	const all = JSON.parse(env.WATCHDOG_CONFIG) as { pairs: { name: string }[] };
	return JSON.stringify({
		pairs: all.pairs.filter((p) => PAIRS.includes(p.name)),
		groups: [{ name: GROUP, pairs: PAIRS }],
	});
}

/** An Env whose WATCHDOG namespace counts every call made on a stub (each is one billed request). */
function countingEnv(extra: Partial<Env> = {}): { env: Env; calls: string[] } {
	const calls: string[] = [];
	const ns = env.WATCHDOG;
	const counted = {
		idFromName: (name: string) => ns.idFromName(name),
		get: (id: DurableObjectId) => {
			const stub = ns.get(id);
			return new Proxy(stub, {
				get(target, prop) {
					const v = Reflect.get(target, prop);
					if (typeof v !== "function") return v;
					return (...args: unknown[]) => {
						calls.push(String(prop));
						// Called through the stub, not .apply: on an RPC stub every property is a remote method.
						return (target as unknown as Record<string, (...a: unknown[]) => unknown>)[
							prop as string
						]?.(...args);
					};
				},
			});
		},
	};
	return {
		env: {
			...env,
			WATCHDOG_CONFIG: costConfig(),
			WATCHDOG: counted as unknown as Env["WATCHDOG"],
			...extra,
		},
		calls,
	};
}

async function rowsRead(): Promise<number> {
	return runInDurableObject(
		watchdog(GROUP),
		(i: Watchdog) => (i as unknown as { store: Store }).store.rowsRead,
	);
}

const clock = new TestClock();
async function tick(n: number): Promise<void> {
	const stub = watchdog(GROUP);
	for (let i = 0; i < n; i++) {
		clock.advance(5_000);
		await useClock(stub, clock);
		await runDurableObjectAlarm(stub);
	}
}

beforeAll(async () => {
	for (const p of PAIRS) await setGateway(p, "up");
	const stub = watchdog(GROUP);
	await stub.ensureAlarm(GROUP, clock.now);
	await tick(40);
}, 60_000);

beforeEach(() => {
	summaryMemo.clear();
	summaryMemo.clock = () => Date.now();
});

afterAll(async () => {
	await dropAlarm(watchdog(GROUP));
});

describe("an open admin tab", () => {
	it("costs one object request per refresh and reads only the rows that are new since the last one", async () => {
		const { env: e, calls } = countingEnv();
		const headers = { authorization: `Bearer ${TOKEN}` };
		// First load of the tab: the object reads each pair's history once (bounded by the row cap).
		const r0 = await rowsRead();
		const first = await app.request("/", { headers }, e);
		expect(first.status).toBe(200);
		expect(await first.text()).toContain("Probe timeline");
		const firstRows = (await rowsRead()) - r0;
		expect(calls).toEqual(["readGroup"]);

		// Then a refresh every 10 s, two ticks (5 s) apart each.
		const refreshes = 12;
		calls.length = 0;
		const r1 = await rowsRead();
		let rowsDuringTicks = 0;
		for (let i = 0; i < refreshes; i++) {
			const before = await rowsRead();
			await tick(2);
			rowsDuringTicks += (await rowsRead()) - before;
			const res = await app.request("/?part=content", { headers }, e);
			expect(res.status).toBe(200);
		}
		const refreshRows = (await rowsRead()) - r1 - rowsDuringTicks;
		const perRefreshRows = refreshRows / refreshes;
		const perRefreshCalls = calls.length / refreshes;
		const perDay = DAY_S / REFRESH_S;
		console.log(
			`admin tab, 3 pairs: first load ${firstRows} rows; per refresh ${perRefreshCalls} object request(s), ${perRefreshRows} rows; a day at one refresh per ${REFRESH_S} s: ${perDay * perRefreshCalls} requests, ${Math.round(firstRows + perDay * perRefreshRows)} rows`,
		);
		expect(perRefreshCalls).toBe(1);
		// Two new observations per pair since the last refresh, nothing more (events: none new).
		expect(perRefreshRows).toBeLessThanOrEqual(PAIRS.length * 2);
		expect(perDay * perRefreshCalls).toBeLessThan(10_000);
		expect(firstRows + perDay * perRefreshRows).toBeLessThan(100_000);
	}, 60_000);

	it("a cold read stays under the per-request row cap, and the next one completes the history", async () => {
		// A fresh object (as after a deploy): a new Store with nothing read yet.
		await runInDurableObject(watchdog(GROUP), (i: Watchdog, state) => {
			(i as unknown as { store: Store }).store = new (
				(i as unknown as { store: Store }).store.constructor as new (
					sql: SqlStorage,
				) => Store
			)(state.storage.sql);
		});
		const view = await watchdog(GROUP).readGroup(GROUP, { detail: true });
		expect(view.rowsRead).toBeLessThanOrEqual(2_500);
		expect(view.truncated).toBe(false);
		for (const p of PAIRS)
			expect(view.details?.[p]?.pair?.observations.length).toBeGreaterThanOrEqual(40);
		const again = await watchdog(GROUP).readGroup(GROUP, { detail: true });
		expect(again.rowsRead).toBe(0);
	}, 30_000);
});

describe("anonymous readers", () => {
	it("a flood on /, /api/v1/pairs and /healthz costs one object request per memo window", async () => {
		const { env: e, calls } = countingEnv();
		let t = 1_000_000;
		summaryMemo.clock = () => t;
		const routes = ["/", "/api/v1/pairs", "/healthz"];
		const r0 = await rowsRead();
		// 300 requests inside one window (the test has no client address, so no rate limit applies).
		for (let i = 0; i < 300; i++) {
			const res = await app.request(routes[i % 3] as string, {}, e);
			expect(res.status).toBeLessThan(500);
		}
		expect(calls).toEqual(["readGroup"]);
		// The window passes: one more call, then the memo again.
		t += MEMO_MS;
		await tick(1);
		for (let i = 0; i < 30; i++) await app.request(routes[i % 3] as string, {}, e);
		expect(calls).toEqual(["readGroup", "readGroup"]);
		const rows = (await rowsRead()) - r0;
		console.log(
			`anonymous flood: 330 requests over two memo windows -> ${calls.length} object requests`,
		);
		// One new observation per pair (the summary's last probe); the tick's own reads are not the API's.
		expect(rows).toBeLessThanOrEqual(PAIRS.length * 2);
		// An hour of a flood at any rate, one isolate: one call per group per window.
		expect((3_600_000 / MEMO_MS) * 1).toBe(720);
	});

	it("concurrent misses share one call", async () => {
		const { env: e, calls } = countingEnv();
		await Promise.all(Array.from({ length: 50 }, () => app.request("/api/v1/pairs", {}, e)));
		expect(calls).toEqual(["readGroup"]);
	});

	it("STATUS_PAGE=private: anonymous /healthz never calls the object, and still answers a verdict", async () => {
		const { env: e, calls } = countingEnv({ STATUS_PAGE: "private" });
		for (let i = 0; i < 20; i++) {
			const res = await app.request("/healthz", {}, e);
			expect(res.status).toBe(200);
			expect(await res.json()).toMatchObject({ ok: true, private: true });
		}
		// The page and the summary refuse without a token, before any read.
		expect((await app.request("/", {}, e)).status).toBe(200);
		expect((await app.request("/api/v1/pairs", {}, e)).status).toBe(401);
		expect(calls).toEqual([]);
		// With the token, /healthz reads the loops.
		const full = await app.request(
			"/healthz",
			{ headers: { authorization: `Bearer ${TOKEN}` } },
			e,
		);
		expect(full.status).toBe(200);
		expect(calls).toEqual(["readGroup"]);
	});

	it("the page for a tokenless reader is one call per group, not 1 + 2 per pair", async () => {
		const { env: e, calls } = countingEnv();
		expect((await app.request("/", {}, e)).status).toBe(200);
		expect(calls).toEqual(["readGroup"]);
	});
});

describe("the per-address rate limit", () => {
	const at = (ip: string) => ({ "cf-connecting-ip": ip });

	it("answers 429 past the anonymous limit, per address, before any object call (binding configured)", async () => {
		const { env: e, calls } = countingEnv();
		const ip = `198.51.100.${Math.floor(Math.random() * 250) + 1}`;
		const statuses: number[] = [];
		for (let i = 0; i < LIMITS.anonymous.limit + 5; i++) {
			statuses.push((await app.request("/api/v1/pairs", { headers: at(ip) }, e)).status);
		}
		expect(statuses.slice(0, LIMITS.anonymous.limit).every((s) => s === 200)).toBe(true);
		const refused = await app.request("/healthz", { headers: at(ip) }, e);
		expect(refused.status).toBe(429);
		expect(refused.headers.get("retry-after")).toBe("60");
		expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("rate-limited");
		// Another address is not affected; a token holder is not limited as anonymous.
		expect((await app.request("/healthz", { headers: at("192.0.2.200") }, e)).status).toBe(200);
		expect(
			(
				await app.request(
					"/healthz",
					{ headers: { ...at(ip), authorization: `Bearer ${TOKEN}` } },
					e,
				)
			).status,
		).toBe(200);
		expect(calls.length).toBeLessThanOrEqual(2);
	});

	it("without the binding: the per-isolate counter limits instead, and /healthz warns", async () => {
		const { env: e } = countingEnv({
			ANON_LIMITER: undefined,
			ADMIN_FAIL_LIMITER: undefined,
		} as Partial<Env>);
		const ip = "203.0.113.77";
		let last = 0;
		for (let i = 0; i <= LIMITS.anonymous.limit; i++) {
			last = (await app.request("/api/v1/pairs", { headers: at(ip) }, e)).status;
		}
		expect(last).toBe(429);
		const health = await app.request(
			"/healthz",
			{ headers: { authorization: `Bearer ${TOKEN}` } },
			e,
		);
		const body = (await health.json()) as { ok: boolean; warnings: string[] };
		expect(body.ok).toBe(true);
		expect(body.warnings.join("\n")).toContain("ANON_LIMITER is not bound");
	});
});
