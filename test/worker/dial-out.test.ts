import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterAll, describe, expect, it } from "vitest";
import {
	CLOSE,
	importPrivateKey,
	MAX_FRAME_BYTES,
	type StatusResponse,
	signHello,
} from "../../protocol";
import { agentClientsFor } from "../../worker/src/agent-client";
import { app } from "../../worker/src/api";
import type { Watchdog } from "../../worker/src/watchdog";
import { TEST_AGENT_PRIVATE_KEY } from "./setup/watchdog-config";
import {
	type AgentEnd,
	connect,
	type Frame,
	hello as helloAs,
	standbyStatus,
} from "./support/dial-out-agent";
import { dropAlarm, TestClock, useClock, watchdog } from "./support/watchdog-harness";

async function hello(end: AgentEnd, opts: { side?: "primary" | "standby"; now?: number } = {}) {
	await helloAs(end, { now: opts.now ?? clock.now, ...(opts.side ? { side: opts.side } : {}) });
}

function status(over: Partial<StatusResponse> = {}): StatusResponse {
	return standbyStatus(clock.now, over);
}

const clock = new TestClock();
const stub = () => watchdog("g-dial");

afterAll(async () => {
	await dropAlarm(stub());
});

describe("dial-out: the Worker's route", () => {
	it("answers a plain GET with 426 and what the route is for", async () => {
		const res = await app.request("/agent/v1/connect?pair=dial&side=standby", {}, env);
		expect(res.status).toBe(426);
		expect(await res.text()).toContain("WebSocket upgrade");
	});

	it.each([
		["pair=nope&side=standby", 404, "no valid pair"],
		["pair=dial&side=boss", 400, "side=primary"],
		["pair=api&side=standby", 403, "not configured to dial out"],
	])("refuses %s before reaching the object (%i)", async (q, code, text) => {
		const res = await app.request(
			`/agent/v1/connect?${q}`,
			{ headers: { upgrade: "websocket" } },
			env,
		);
		expect(res.status).toBe(code);
		expect(await res.text()).toContain(text);
	});
});

describe("dial-out: authentication and hostile frames", () => {
	it("sends a challenge, accepts a signed hello, welcomes with a heartbeat of half the interval", async () => {
		await useClock(stub(), clock);
		const end = await connect("dial", "standby");
		await hello(end);
		const welcome = await end.frame("welcome");
		expect(welcome).toMatchObject({ pair: "dial", side: "standby", heartbeatMs: 2_500 });
		end.ws.close(1000, "done");
	});

	it.each([
		["not JSON", "{{{", CLOSE.malformed, "not JSON"],
		["an unknown frame", { t: "sudo", cmd: "promote" }, CLOSE.malformed, "t"],
		["a status before hello", { t: "status", seq: 0, status: {} }, CLOSE.malformed, "status"],
		[
			"a response before hello",
			{ t: "response", id: 1, status: 200, headers: {}, body: "" },
			CLOSE.malformed,
			"response",
		],
		["an oversized frame", "x".repeat(MAX_FRAME_BYTES + 1), CLOSE.tooLarge, "over"],
	])("closes on %s", async (_what, frame, code, reason) => {
		const end = await connect("dial", "standby");
		await end.frame("challenge");
		end.send(frame);
		const closed = await end.closedWith();
		expect(closed.code).toBe(code);
		expect(closed.reason).toContain(reason);
	});

	it("refuses a hello signed by another key, for another side, or with a clock far off", async () => {
		const wrongKey = await connect("dial", "standby");
		const challenge = (await wrongKey.frame("challenge")).challenge as string;
		const other = await crypto.subtle.generateKey("Ed25519", true, ["sign", "verify"]);
		const { exportPrivateKey } = await import("../../protocol");
		const otherKey = await importPrivateKey(
			await exportPrivateKey((other as CryptoKeyPair).privateKey),
		);
		wrongKey.send(
			await signHello({
				pair: "dial",
				side: "standby",
				challenge,
				privateKey: otherKey,
				now: clock.now,
			}),
		);
		expect(await wrongKey.closedWith()).toMatchObject({ code: CLOSE.unauthenticated });
		expect(wrongKey.closed?.reason ?? "").toContain("unknown agent key");

		const wrongSide = await connect("dial", "standby");
		await hello(wrongSide, { side: "primary" });
		expect(await wrongSide.closedWith()).toMatchObject({ code: CLOSE.forbidden });

		const skewed = await connect("dial", "standby");
		await hello(skewed, { now: clock.now - 120_000 });
		const c = await skewed.closedWith();
		expect(c.code).toBe(CLOSE.unauthenticated);
		expect(c.reason).toContain("clock off");
	});

	it("refuses a replayed hello (bound to the first connection's challenge)", async () => {
		const first = await connect("dial", "standby");
		const challenge = (await first.frame("challenge")).challenge as string;
		const privateKey = await importPrivateKey(TEST_AGENT_PRIVATE_KEY);
		const signed = await signHello({
			pair: "dial",
			side: "standby",
			challenge,
			privateKey,
			now: clock.now,
		});
		first.send(signed);
		await first.frame("welcome");
		const replay = await connect("dial", "standby");
		await replay.frame("challenge");
		replay.send(signed);
		expect(await replay.closedWith()).toMatchObject({ code: CLOSE.unauthenticated });
		first.ws.close(1000);
	});

	it("a second connection for the same side replaces the first", async () => {
		const a = await connect("dial", "standby");
		await hello(a);
		await a.frame("welcome");
		const b = await connect("dial", "standby");
		await hello(b);
		await b.frame("welcome");
		expect(await a.closedWith()).toMatchObject({ code: CLOSE.replaced });
		b.ws.close(1000);
	});

	it("closes a socket that never says hello, at the next alarm after the hello timeout", async () => {
		const end = await connect("dial", "standby");
		await end.frame("challenge");
		clock.advance(11_000);
		await runInDurableObject(stub(), (w: Watchdog) => w.sockets.sweep());
		expect(await end.closedWith()).toMatchObject({ code: CLOSE.helloTimeout });
	});

	it("drops a heartbeat flood, counts it, and closes the socket when it goes on", async () => {
		const end = await connect("dial", "standby");
		await hello(end);
		await end.frame("welcome");
		for (let i = 0; i < 260; i++) end.send({ t: "status", seq: i, status: status() });
		const closed = await end.closedWith();
		expect(closed.code).toBe(CLOSE.rateLimited);
		const stats = await runInDurableObject(stub(), (w: Watchdog) =>
			w.sockets.connection("dial", "standby"),
		);
		expect(stats.dropped).toBeGreaterThanOrEqual(200);
		expect(stats.lastRefusal).toContain("rate limit");
	});
});

describe("dial-out: status and requests over the socket", () => {
	it("a pushed status is what the tick reads, until it is older than three heartbeats", async () => {
		const end = await connect("dial", "standby");
		await hello(end);
		await end.frame("welcome");
		end.send({ t: "status", seq: 1, status: status({ term: 3 }) });
		await end.until("status stored", () => true);
		const view = await runInDurableObject(stub(), async (w: Watchdog) => {
			for (let i = 0; i < 50 && !w.sockets.latestStatus("dial", "standby", 7_500); i++) {
				await new Promise((r) => setTimeout(r, 20));
			}
			const client = agentClientsFor({ WATCHDOG_PRIVATE_KEY: TEST_AGENT_PRIVATE_KEY })(
				(await import("../../worker/src/config-cache"))
					.loadConfig(
						env.WATCHDOG_CONFIG,
						(env as { LOCAL_DEVELOPMENT?: string }).LOCAL_DEVELOPMENT,
					)
					.pairs.get("dial")!,
				w.sockets,
			);
			const fresh = await client.status(AbortSignal.timeout(1_000));
			clock.advance(8_000);
			const stale = await client.status(AbortSignal.timeout(1_000));
			return { fresh, stale };
		});
		expect(view.fresh).toMatchObject({ reachable: true, term: 3, primary: { ok: true } });
		expect(view.stale).toMatchObject({ reachable: false });
		expect((view.stale as { reason: string }).reason).toContain("no status pushed");
		end.ws.close(1000);
	});

	it("carries a signed request envelope and returns the agent's response", async () => {
		const end = await connect("dial", "standby");
		await hello(end);
		await end.frame("welcome");
		// The agent side: answer every request frame with a canned operation record.
		end.ws.addEventListener("message", (e) => {
			const f = JSON.parse(String(e.data)) as Frame;
			if (f.t !== "request") return;
			end.send({
				t: "response",
				id: f.id,
				status: 200,
				headers: { "content-type": "application/json" },
				body: JSON.stringify({
					echo: f.path,
					signed: typeof (f.headers as Record<string, string>)["x-fg-signature"],
				}),
			});
		});
		const answer = await runInDurableObject(stub(), async (w: Watchdog) => {
			const f = w.sockets.fetchFor("dial", "standby");
			const res = await f("https://standby.dial-out.invalid/v1/promote", {
				method: "POST",
				headers: {
					"x-fg-signature": "abc",
					"content-type": "application/json",
					cookie: "never-forwarded",
				},
				body: "{}",
				signal: AbortSignal.timeout(2_000),
			});
			return { status: res.status, body: await res.json() };
		});
		expect(answer).toEqual({ status: 200, body: { echo: "/v1/promote", signed: "string" } });
		end.ws.close(1000);
	});

	it("a request to a side that is not connected waits for it within the deadline, then says so", async () => {
		const r = await runInDurableObject(stub(), async (w: Watchdog) =>
			w.sockets.request(
				"dial",
				"primary",
				{ method: "GET", path: "/v1/status", headers: {}, body: null },
				AbortSignal.timeout(300),
			),
		);
		expect(r).toMatchObject({ ok: false });
		expect((r as { reason: string }).reason).toMatch(/not connected|before the deadline/);
	});
});
