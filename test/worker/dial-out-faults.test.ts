// Each dial-out fault shows in the admin pair view: a flood (dropped, counted), a silent socket (its age, and
// the tick counts it unreachable), a clock far off (refused as "clock skew", the skew shown), a redial (the
// agent's own report), and the route's rate limit (429 before the object or any signature check).
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLOSE, MAX_SKEW_MS } from "../../protocol";
import { agentClientsFor } from "../../worker/src/agent-client";
import { app } from "../../worker/src/api";
import { LIMITS } from "../../worker/src/client-limits";
import type { PairDetail } from "../../worker/src/pair-view";
import type { Watchdog } from "../../worker/src/watchdog";
import { TEST_AGENT_PRIVATE_KEY } from "./setup/watchdog-config";
import { connect, hello, standbyStatus } from "./support/dial-out-agent";
import { dropAlarm, TestClock, testEnv, useClock, watchdog } from "./support/watchdog-harness";

const clock = new TestClock();
const stub = () => watchdog("g-dial");
const TOKEN = testEnv.ADMIN_TOKEN as string;

beforeAll(async () => {
	await useClock(stub(), clock);
});

afterAll(async () => {
	await dropAlarm(stub());
});

/** The admin pair view (GET /api/v1/pairs/dial), as an operator reads it. */
async function adminView(): Promise<PairDetail> {
	const res = await app.request(
		"/api/v1/pairs/dial",
		{ headers: { authorization: `Bearer ${TOKEN}` } },
		env,
	);
	expect(res.status).toBe(200);
	return (await res.json()) as PairDetail;
}

/** Polls `check` (5 s at most, real time) until it returns something truthy: frames arrive asynchronously. */
async function eventually<T>(
	what: string,
	check: () => Promise<T | null | undefined | false>,
): Promise<T> {
	const end = Date.now() + 5_000;
	for (;;) {
		const v = await check();
		if (v) return v;
		if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 20));
	}
}

async function standbyConnection() {
	const c = (await adminView()).connections?.standby;
	if (!c) throw new Error("the admin view has no connections.standby for a dial-out side");
	return c;
}

describe("dial-out faults, as the admin pair view shows them", () => {
	it("a heartbeat flood: frames dropped unparsed, counted, the socket closed as a flood", async () => {
		await useClock(stub(), clock);
		const before = await standbyConnection();
		const end = await connect("dial", "standby");
		await hello(end, { now: clock.now });
		await end.frame("welcome");
		for (let i = 0; i < 260; i++)
			end.send({ t: "status", seq: i, status: standbyStatus(clock.now) });
		expect(await end.closedWith()).toMatchObject({ code: CLOSE.rateLimited });
		const after = await standbyConnection();
		expect(after.dropped - before.dropped).toBeGreaterThanOrEqual(200);
		expect((after.refusals.flood ?? 0) - (before.refusals.flood ?? 0)).toBe(1);
		expect(after.lastRefusal).toMatch(/^flood: /);
	});

	it("a socket open but silent: the silence age shows, and the tick counts the side unreachable", async () => {
		const end = await connect("dial", "standby");
		await hello(end, { now: clock.now });
		await end.frame("welcome");
		end.send({ t: "status", seq: 1, status: standbyStatus(clock.now) });
		await eventually("status stored", async () => (await standbyConnection()).statusAgeMs !== null);
		const fresh = await standbyConnection();
		expect(fresh).toMatchObject({ connected: true });
		expect(fresh.silentMs).toBeLessThan(1_000);

		// 12 s without a frame: over the 7.5 s age limit (three heartbeats of 2.5 s), under the 20 s close.
		clock.advance(12_000);
		await useClock(stub(), clock);
		await runInDurableObject(stub(), (w: Watchdog) => {
			// The real signed client, reading dial-out sides from the object's sockets.
			w.deps.agents = agentClientsFor({ WATCHDOG_PRIVATE_KEY: TEST_AGENT_PRIVATE_KEY });
		});
		const silent = await standbyConnection();
		expect(silent.connected).toBe(true);
		expect(silent.silentMs).toBeGreaterThanOrEqual(12_000);
		expect(silent.statusAgeMs).toBeGreaterThanOrEqual(12_000);
		await stub().ensureAlarm("g-dial", clock.now);
		await runDurableObjectAlarm(stub());
		const view = (await adminView()).witnesses.standby.view;
		expect(view).toMatchObject({ reachable: false });
		const reason = (view as { reason: string }).reason;
		expect(reason).toContain("no status pushed by the standby agent");
		expect(reason).toMatch(/socket open, last frame 1\d s ago/);
		expect(end.closed).toBeNull();

		// Past 8 heartbeats (20 s) of silence the next alarm closes it, so the agent redials: a path that
		// carries the Worker's ticks but not the agent's pushes is one the agent alone would never notice.
		const before = await standbyConnection();
		clock.advance(10_000);
		await useClock(stub(), clock);
		await runDurableObjectAlarm(stub());
		expect(await end.closedWith()).toMatchObject({ code: CLOSE.silent });
		expect(end.closed?.reason).toContain("no frame for 22 s");
		const after = await standbyConnection();
		expect((after.refusals.silent ?? 0) - (before.refusals.silent ?? 0)).toBe(1);
		expect(after.connected).toBe(false);
	}, 30_000); // two real ticks (a probe of the loopback gateway each) on a loaded machine

	it("the agent's clock far off: the hello is refused as clock skew, counted, the skew shown", async () => {
		const before = await standbyConnection();
		for (const off of [-(MAX_SKEW_MS + 90_000), MAX_SKEW_MS + 5_000]) {
			const end = await connect("dial", "standby");
			await hello(end, { now: clock.now + off });
			const closed = await end.closedWith();
			expect(closed.code).toBe(CLOSE.unauthenticated);
			expect(closed.reason).toContain("clock off");
			const after = await standbyConnection();
			expect(after.skewMs).toBe(off);
		}
		const after = await standbyConnection();
		expect((after.refusals["clock skew"] ?? 0) - (before.refusals["clock skew"] ?? 0)).toBe(2);
		expect(after.lastRefusal).toMatch(/^clock skew: clock off by 35 s/);
	});

	it("the admin page words it: refusals by kind, the clock skew, the silence", async () => {
		const end = await connect("dial", "standby");
		await hello(end, { now: clock.now + MAX_SKEW_MS + 5_000 });
		await end.closedWith();
		const res = await app.request("/", { headers: { authorization: `Bearer ${TOKEN}` } }, env);
		const all = await res.text();
		const at = all.indexOf('id="pair-dial"');
		expect(at).toBeGreaterThan(0);
		const page = all.slice(at, all.indexOf("<section", at + 1) >>> 0);
		expect(page).toContain("Standby agent's connection (dial-out)");
		expect(page).toMatch(/refused \([^)]*clock skew \d+/);
		expect(page).toMatch(/agent clock ahead by 35 s/);
		expect(page).toMatch(/last frame \d+ s ago/);
		expect(page).toContain("newest refusal: clock skew: clock off by 35 s");
	});

	it("an accepted agent's clock off (within the hello's limit, or later): each status shows the skew", async () => {
		const end = await connect("dial", "standby");
		await hello(end, { now: clock.now });
		await end.frame("welcome");
		end.send({ t: "status", seq: 1, status: standbyStatus(clock.now - 45_000) });
		const c = await eventually("skew shown", async () => {
			const s = await standbyConnection();
			return s.skewMs === -45_000 ? s : null;
		});
		expect(c.connected).toBe(true);
		end.ws.close(1000);
	});

	it("a redial after a redeploy: the agent's own report (connects, last close, drops) shows", async () => {
		const end = await connect("dial", "standby");
		await hello(end, { now: clock.now });
		await end.frame("welcome");
		const report = {
			connected: true,
			connects: 3,
			lastClose: "1012 Durable Object reset because its code was updated.",
			lastCloseAt: clock.now - 2_000,
			dropped: 4,
			refused: 2,
			clockSkew: 1,
			lastDrop: "refused a request for /v1/promote: stale-timestamp",
			skewMs: 31_000,
		};
		end.send({ t: "status", seq: 1, status: standbyStatus(clock.now, { dialOut: report }) });
		const c = await eventually("agent report", async () => (await standbyConnection()).agent);
		expect(c).toEqual(report);
		end.ws.close(1000);
	});

	it("every kind of protocol refusal is counted under its kind", async () => {
		const before = await standbyConnection();
		const cases: [unknown, string][] = [
			["{{{", "not JSON"],
			[{ t: "sudo" }, "invalid frame"],
			[{ t: "status", seq: 0, status: standbyStatus(clock.now) }, "before hello"],
			["x".repeat(70_000), "too large"],
			[new Uint8Array([1, 2, 3]).buffer, "binary"],
		];
		for (const [frame] of cases) {
			const end = await connect("dial", "standby");
			await end.frame("challenge");
			end.send(frame);
			await end.closedWith();
		}
		const after = await standbyConnection();
		for (const [, kind] of cases) {
			const k = kind as keyof typeof after.refusals;
			expect((after.refusals[k] ?? 0) - (before.refusals[k] ?? 0), kind).toBe(1);
		}
		expect(after.refusals["internal error"]).toBeUndefined();
	});
});

describe("a bug in the frame handler", () => {
	it("is caught at webSocketMessage: counted as an internal error, the socket closed 4500, the object unharmed", async () => {
		type Deps = { publicKey: (pair: string, side: string) => Promise<CryptoKey | string> };
		await runInDurableObject(stub(), (w: Watchdog) => {
			const deps = (w.sockets as unknown as { deps: Deps }).deps;
			const real = deps.publicKey;
			deps.publicKey = async () => {
				deps.publicKey = real; // once
				throw new TypeError("injected: key store unavailable");
			};
		});
		const before = await standbyConnection();
		const end = await connect("dial", "standby");
		await hello(end, { now: clock.now });
		const closed = await end.closedWith();
		expect(closed.code).toBe(CLOSE.internal);
		expect(closed.reason).toContain("injected");
		const after = await standbyConnection();
		expect((after.refusals["internal error"] ?? 0) - (before.refusals["internal error"] ?? 0)).toBe(
			1,
		);
		// The next connection is served as usual.
		const next = await connect("dial", "standby");
		await hello(next, { now: clock.now });
		expect(await next.frame("welcome")).toMatchObject({ side: "standby" });
		next.ws.close(1000);
	});
});

describe("the dial-out route's rate limit", () => {
	/** Counts calls on Durable Object stubs: each is a billed request (a wake, for an idle object). */
	function countingEnv(extra: Record<string, unknown> = {}): { env: Env; calls: string[] } {
		const calls: string[] = [];
		const ns = env.WATCHDOG;
		const counted = {
			idFromName: (name: string) => ns.idFromName(name),
			get: (id: DurableObjectId) =>
				new Proxy(ns.get(id), {
					get(target, prop) {
						const v = Reflect.get(target, prop);
						if (typeof v !== "function") return v;
						return (...args: unknown[]) => {
							calls.push(String(prop));
							return (target as unknown as Record<string, (...a: unknown[]) => unknown>)[
								prop as string
							]?.(...args);
						};
					},
				}),
		};
		return {
			env: { ...env, WATCHDOG: counted as unknown as Env["WATCHDOG"], ...extra } as Env,
			calls,
		};
	}

	it.each([
		["with the DIAL_LIMITER binding", {}],
		["without it (per-isolate counter)", { DIAL_LIMITER: undefined }],
	])(
		"%s: 429 with Retry-After past the limit, before the object or any signature check",
		async (_what, extra) => {
			const { env: e, calls } = countingEnv(extra);
			const ip = `198.51.100.${Math.floor(Math.random() * 250) + 1}`;
			const from = { "cf-connecting-ip": ip };
			// Plain GETs count too (426: no upgrade): a flood need not be a valid upgrade to cost the counter.
			for (let i = 0; i < LIMITS.dialOut.limit; i++) {
				const res = await app.request(
					"/agent/v1/connect?pair=dial&side=standby",
					{ headers: from },
					e,
				);
				expect(res.status).toBe(426);
			}
			const refused = await app.request(
				"/agent/v1/connect?pair=dial&side=standby",
				{ headers: { ...from, upgrade: "websocket" } },
				e,
			);
			expect(refused.status).toBe(429);
			expect(refused.headers.get("retry-after")).toBe("60");
			const body = (await refused.json()) as { error: { code: string; message: string } };
			expect(body.error.code).toBe("rate-limited");
			expect(body.error.message).toContain("too many dial-out connections from your address");
			expect(calls).toEqual([]);
			// Another address still connects (and that one reaches the object).
			const other = await app.request(
				"/agent/v1/connect?pair=dial&side=standby",
				{ headers: { "cf-connecting-ip": "192.0.2.201", upgrade: "websocket" } },
				e,
			);
			expect(other.status).toBe(101);
			other.webSocket?.accept();
			other.webSocket?.close(1000);
			expect(calls).toEqual(["fetch"]);
		},
	);

	it("a loopback address (local development only: the edge never reports one) is not limited", async () => {
		const { env: e } = countingEnv();
		for (let i = 0; i <= LIMITS.dialOut.limit + 5; i++) {
			const res = await app.request(
				"/agent/v1/connect?pair=dial&side=standby",
				{ headers: { "cf-connecting-ip": "127.0.0.1" } },
				e,
			);
			expect(res.status).toBe(426);
		}
	});

	it("/healthz names the binding when it is missing", async () => {
		const res = await app.request("/healthz", { headers: { authorization: `Bearer ${TOKEN}` } }, {
			...env,
			DIAL_LIMITER: undefined,
		} as Env);
		const body = (await res.json()) as { warnings: string[] };
		expect(body.warnings.join("\n")).toContain("DIAL_LIMITER is not bound");
	});
});
