// What dial-out costs, counted: the real agent dialer (agent/src/dial-out.ts), both sides of a pair connected to
// the Durable Object, and every incoming message (webSocketMessage, billed 20 to 1 as a request) counted over
// real ticks at the default interval. docs/cost.md quotes these figures; the test holds the doc to them.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterAll, describe, expect, it } from "vitest";
import { DialOut, type DialOutOptions } from "../../agent/src/dial-out";
import { silentLogger } from "../../agent/src/log";
import costDoc from "../../docs/cost.md?raw";
import { importPrivateKey, PROTOCOL_VERSION, type StatusResponse } from "../../protocol";
import { app } from "../../worker/src/api";
import type { Watchdog } from "../../worker/src/watchdog";
import { TEST_AGENT_PRIVATE_KEY } from "./setup/watchdog-config";
import { dropAlarm, TestClock, useClock, watchdog } from "./support/watchdog-harness";

/** The Free plan's Durable Object requests per day, and the watchdog's own (alarms every 5 s, cron once a minute). */
const FREE_DO_REQUESTS = 100_000;
const WATCHDOG_OWN = 17_280 + 1_440;
/** docs/cost.md, as shipped: the test reads its figures rather than repeating them. */
const DOC = costDoc as string;

/** The numbers of the first table row of docs/cost.md that starts with `label` (commas removed). */
function docRow(label: string): number[] {
	const line = DOC.split("\n").find((l) => l.startsWith(`| ${label}`));
	if (!line) throw new Error(`docs/cost.md has no table row starting "| ${label}"`);
	return line
		.split("|")
		.slice(2)
		.flatMap((cell) =>
			[...cell.matchAll(/\d[\d,]*/g)].map((m) => Number(m[0].replaceAll(",", ""))),
		);
}

/** Incoming WebSocket messages billed as one request each (Durable Objects pricing). */
const MESSAGES_PER_REQUEST = 20;
const INTERVAL_MS = 5_000; // the "dial" pair's probeIntervalSeconds, the default
const TICKS_PER_DAY = 86_400_000 / INTERVAL_MS;

/**
 * A WebSocket the agent's dialer can use inside workerd: it opens /agent/v1/connect through the Worker's own
 * app (the same route, rate limit and Durable Object an agent reaches over the Internet).
 */
class AppSocket extends EventTarget {
	readyState = 0;
	private ws: WebSocket | null = null;
	constructor(url: string) {
		super();
		void this.open(url);
	}
	private async open(url: string) {
		const u = new URL(url);
		const res = await app.request(
			`${u.pathname}${u.search}`,
			{ headers: { upgrade: "websocket" } },
			env,
		);
		const ws = res.webSocket;
		if (!ws) {
			this.readyState = 3;
			this.dispatchEvent(
				Object.assign(new Event("close"), { code: 1006, reason: `${res.status}` }),
			);
			return;
		}
		ws.accept();
		this.ws = ws;
		this.readyState = 1;
		ws.addEventListener("message", (e) =>
			this.dispatchEvent(Object.assign(new Event("message"), { data: e.data })),
		);
		ws.addEventListener("close", (e) => {
			this.readyState = 3;
			this.dispatchEvent(Object.assign(new Event("close"), { code: e.code, reason: e.reason }));
		});
	}
	send(data: string) {
		this.ws?.send(data);
	}
	close(code?: number, reason?: string) {
		this.readyState = 3;
		try {
			this.ws?.close(code, reason);
		} catch {
			// Already closed.
		}
	}
}

const clock = new TestClock();
const stub = () => watchdog("g-dial");
const dialers: DialOut[] = [];

afterAll(async () => {
	for (const d of dialers) await d.stop();
	await dropAlarm(stub());
});

function statusOf(side: "primary" | "standby"): StatusResponse {
	return {
		version: PROTOCOL_VERSION,
		role: side,
		term: 0,
		gatewayActive: side === "primary",
		lastOperation: null,
		peer: null,
		now: clock.now,
	};
}

/** Messages per tick as a whole number: a count over a few ticks of real timers wobbles by a push. */
function perTickRounded(perTick: number): number {
	return Math.round(perTick);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("dial-out messages per tick", () => {
	it("two agents at the default heartbeat: counted per tick, and three pairs a day stay inside the Free plan", async () => {
		await useClock(stub(), clock);
		// Count every webSocketMessage the object handles (each frame passes AgentSockets.onMessage once).
		await runInDurableObject(stub(), (w: Watchdog) => {
			const sockets = w.sockets as unknown as {
				onMessage: (ws: WebSocket, d: string | ArrayBuffer) => Promise<void>;
				counted?: number;
			};
			const handle = sockets.onMessage.bind(w.sockets);
			sockets.counted = 0;
			sockets.onMessage = (ws, d) => {
				sockets.counted = (sockets.counted ?? 0) + 1;
				return handle(ws, d);
			};
		});
		const counted = () =>
			runInDurableObject(
				stub(),
				(w: Watchdog) => (w.sockets as unknown as { counted: number }).counted,
			);
		const privateKey = await importPrivateKey(TEST_AGENT_PRIVATE_KEY);
		for (const side of ["primary", "standby"] as const) {
			const d = new DialOut({
				url: "http://127.0.0.1:8787",
				pair: "dial",
				side,
				privateKey,
				// No request is sent in a quiet steady state; any would be answered as unauthenticated.
				app: {
					handle: async () => ({ status: 401, headers: {}, body: new TextEncoder().encode("{}") }),
				},
				status: async () => statusOf(side),
				log: silentLogger,
				now: () => clock.now,
				WebSocket: AppSocket as unknown as DialOutOptions["WebSocket"],
				random: () => 0.5,
			});
			dialers.push(d);
			d.start();
		}
		for (let i = 0; i < 200 && !dialers.every((d) => d.state.connected); i++) await sleep(25);
		expect(dialers.map((d) => d.state.connected)).toEqual([true, true]);
		await stub().ensureAlarm("g-dial", clock.now);

		// Steady state: count over whole ticks of real time, one alarm run per interval as in production.
		const ticks = 3;
		const c0 = await counted();
		const t0 = Date.now();
		for (let i = 0; i < ticks; i++) {
			await sleep(INTERVAL_MS);
			clock.advance(INTERVAL_MS);
			await useClock(stub(), clock);
			await runDurableObjectAlarm(stub());
		}
		const messages = (await counted()) - c0;
		const elapsedTicks = (Date.now() - t0) / INTERVAL_MS;
		const stats = await runInDurableObject(stub(), (w: Watchdog) => ({
			primary: w.sockets.connection("dial", "primary"),
			standby: w.sockets.connection("dial", "standby"),
		}));

		const perTick = messages / elapsedTicks;
		const perDay3Pairs = Math.round(perTick * TICKS_PER_DAY * 3);
		const requests3Pairs = Math.round(perDay3Pairs / MESSAGES_PER_REQUEST);
		console.log(
			`dial-out, one pair, both agents connected: ${messages} incoming messages over ${elapsedTicks.toFixed(2)} ticks = ${perTick.toFixed(2)} per tick; three pairs a day: ${perDay3Pairs} messages = ${requests3Pairs} DO requests, + ${WATCHDOG_OWN} the watchdog's own = ${requests3Pairs + WATCHDOG_OWN} of ${FREE_DO_REQUESTS}`,
		);
		// Honest agents are never rate-limited, refused or reconnected.
		expect(stats.primary.dropped + stats.standby.dropped).toBe(0);
		expect(stats.primary.refused + stats.standby.refused).toBe(0);
		expect(dialers.map((d) => d.state.connects)).toEqual([1, 1]);
		// One status per heartbeat (half the interval) per agent: 4 per tick for the pair. Timer phase can
		// add or lose one push per agent over the window.
		expect(perTick).toBeGreaterThan(3);
		expect(perTick).toBeLessThanOrEqual(4 + 2 / elapsedTicks);
		// The doc's table: the status-push row (messages and requests a day for three pairs) is what the
		// count gives, and the three-pair total of the summary stays inside the Free plan.
		const [docMessages, docRequests] = docRow("status pushes");
		const summary = docRow("DO requests, both agents dial out");
		const docTotal3 = summary[2];
		expect(docMessages).toBe(Math.round(perTickRounded(perTick) * TICKS_PER_DAY * 3));
		expect(docRequests).toBe((docMessages ?? 0) / MESSAGES_PER_REQUEST);
		expect(docTotal3).toBe(WATCHDOG_OWN + (docRequests ?? 0));
		expect(requests3Pairs).toBeLessThanOrEqual((docRequests ?? 0) * (1 + 0.5 / elapsedTicks));
		expect(requests3Pairs + WATCHDOG_OWN).toBeLessThan(FREE_DO_REQUESTS);
		expect(docTotal3).toBeLessThan(FREE_DO_REQUESTS);
	}, 60_000); // three real 5 s intervals (the agents' heartbeat runs on real timers), plus connect and alarms
});
