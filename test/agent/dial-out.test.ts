import { afterEach, describe, expect, it } from "vitest";
import {
	BACKOFF_CAP_MS,
	backoffMs,
	DialOut,
	type DialOutOptions,
	dialOutUrl,
} from "../../agent/src/dial-out";
import { silentLogger } from "../../agent/src/log";
import {
	CLOSE,
	generateKeyPair,
	HelloFrameSchema,
	importPublicKey,
	MAX_SKEW_MS,
	newChallenge,
	PROTOCOL_VERSION,
	type StatusResponse,
	signRequest,
	verifyHello,
} from "../../protocol";
import { fakeRunner, startTestAgent } from "./helpers";

/** A WebSocket double: the test plays the Worker's end. */
class FakeSocket extends EventTarget {
	static last: FakeSocket | null = null;
	static opened: string[] = [];
	readyState = 1;
	readonly sent: Record<string, unknown>[] = [];
	constructor(readonly url: string) {
		super();
		FakeSocket.last = this;
		FakeSocket.opened.push(url);
	}
	send(text: string) {
		this.sent.push(JSON.parse(text) as Record<string, unknown>);
	}
	close(code = 1000, reason = "") {
		if (this.readyState === 3) return;
		this.readyState = 3;
		const e = new Event("close") as Event & { code: number; reason: string };
		Object.assign(e, { code, reason });
		this.dispatchEvent(e);
	}
	/** The Worker sends a frame. */
	deliver(frame: unknown) {
		const e = new Event("message") as Event & { data: unknown };
		Object.assign(e, { data: typeof frame === "string" ? frame : JSON.stringify(frame) });
		this.dispatchEvent(e);
	}
	frames(t: string) {
		return this.sent.filter((f) => f.t === t);
	}
}

const status: StatusResponse = {
	version: PROTOCOL_VERSION,
	role: "standby",
	term: 2,
	gatewayActive: false,
	lastOperation: null,
	peer: null,
	now: 0,
};

const running: DialOut[] = [];
afterEach(async () => {
	for (const d of running.splice(0)) await d.stop();
	FakeSocket.last = null;
	FakeSocket.opened = [];
});

async function settle(ms = 20) {
	await new Promise((r) => setTimeout(r, ms));
}

/**
 * Waits until the socket has sent `count` frames of type `t` (or `timeoutMs` passes; the assertion
 * after it then fails with what was sent). A fixed sleep flaked on a loaded 2-core machine, where
 * signing a hello took longer than 20 ms.
 */
async function sentFrames(ws: FakeSocket, t: string, count = 1, timeoutMs = 5_000) {
	const end = Date.now() + timeoutMs;
	while (ws.frames(t).length < count && Date.now() < end) await settle(10);
	return ws.frames(t);
}

async function dialer(over: Partial<DialOutOptions> = {}) {
	const keys = await generateKeyPair();
	const requests: {
		path: string;
		method: string;
		headers: Record<string, string>;
		body?: string;
	}[] = [];
	const d = new DialOut({
		url: "https://fg.example.workers.dev",
		pair: "home",
		side: "standby",
		privateKey: keys.privateKey,
		app: {
			async handle(req) {
				// The frame's body as the handler reads it, and refused past a limit it does not fit.
				const read = await req.readBody(1 << 20);
				const tooSmall = await req.readBody(1);
				requests.push({
					path: req.path,
					method: req.method,
					headers: req.headers as Record<string, string>,
					...(read.ok ? { body: new TextDecoder().decode(read.bytes) } : {}),
					...(read.ok && read.bytes.length > 1 && tooSmall.ok ? { body: "limit ignored" } : {}),
				});
				return {
					status: 401,
					headers: { "content-type": "application/json", "x-other": "dropped" },
					body: new TextEncoder().encode(
						JSON.stringify({ error: { code: "bad-signature", message: "no" } }),
					),
				};
			},
		},
		status: async () => status,
		log: silentLogger,
		WebSocket: FakeSocket as unknown as DialOutOptions["WebSocket"],
		random: () => 0.5,
		...over,
	});
	running.push(d);
	d.start();
	return { d, keys, requests, ws: FakeSocket.last as FakeSocket };
}

describe("dial-out agent", () => {
	it("dials wss://<worker>/agent/v1/connect with its pair and side", () => {
		expect(dialOutUrl("https://fg.example.workers.dev/", "home", "standby")).toBe(
			"wss://fg.example.workers.dev/agent/v1/connect?pair=home&side=standby",
		);
		expect(dialOutUrl("http://127.0.0.1:8787", "a", "primary")).toBe(
			"ws://127.0.0.1:8787/agent/v1/connect?pair=a&side=primary",
		);
	});

	it("answers the challenge with a hello the Worker verifies, then pushes its status on welcome", async () => {
		const { ws, keys } = await dialer();
		const challenge = newChallenge();
		ws.deliver({ t: "challenge", challenge, serverTime: Date.now() });
		const [hello] = await sentFrames(ws, "hello");
		const verdict = await verifyHello({
			hello: HelloFrameSchema.parse(hello),
			challenge,
			pair: "home",
			side: "standby",
			publicKey: await importPublicKey(keys.publicKeyText),
			now: Date.now(),
		});
		expect(verdict).toEqual({ ok: true });
		ws.deliver({
			t: "welcome",
			pair: "home",
			side: "standby",
			heartbeatMs: 250,
			serverTime: Date.now(),
		});
		const pushes = await sentFrames(ws, "status", 2);
		expect(pushes.length).toBeGreaterThanOrEqual(2); // one at once, then every heartbeat
		expect(pushes[0]).toMatchObject({ t: "status", seq: 0, status: { term: 2 } });
	});

	it("runs a request frame through the agent's app and returns only protocol headers", async () => {
		const { ws, requests } = await dialer();
		ws.deliver({ t: "welcome", pair: "home", side: "standby", heartbeatMs: 5_000, serverTime: 0 });
		ws.deliver({
			t: "request",
			id: 7,
			method: "POST",
			path: "/v1/promote",
			headers: { "x-fg-signature": "sig", "content-type": "application/json" },
			body: "{}",
		});
		await sentFrames(ws, "response");
		expect(requests).toEqual([
			{
				path: "/v1/promote",
				method: "POST",
				headers: { "x-fg-signature": "sig", "content-type": "application/json" },
				body: "{}",
			},
		]);
		const [res] = ws.frames("response");
		expect(res).toMatchObject({
			id: 7,
			status: 401,
			headers: { "content-type": "application/json" },
		});
		expect((res as { headers: Record<string, string> }).headers).not.toHaveProperty("x-other");
	});

	it("drops garbled and hostile server frames without running anything", async () => {
		const { ws, requests } = await dialer();
		const hostile: unknown[] = [
			"not json",
			"{}",
			{ t: "request" },
			{ t: "request", id: 1, method: "DELETE", path: "/v1/promote", headers: {}, body: null },
			{ t: "request", id: 1, method: "POST", path: "/../etc/passwd", headers: {}, body: null },
			{
				t: "request",
				id: 1,
				method: "POST",
				path: "/v1/promote",
				headers: { cookie: "x" },
				body: null,
			},
			{ t: "request", id: -1, method: "POST", path: "/v1/promote", headers: {}, body: null },
			{
				t: "request",
				id: 1,
				method: "POST",
				path: "/v1/promote",
				headers: {},
				body: "x".repeat(70_000),
			},
			{ t: "welcome", pair: "home", side: "boss", heartbeatMs: 1, serverTime: 0 },
			{ t: "tick", serverTime: "soon", lease: null },
			"x".repeat(70_000),
		];
		for (const f of hostile) ws.deliver(f);
		await settle();
		expect(requests).toEqual([]);
		expect(ws.frames("response")).toEqual([]);
	});

	it("reconnects after a close with jittered backoff, slowly after an authentication refusal", async () => {
		expect(backoffMs(0, () => 0.5)).toBe(500);
		expect(backoffMs(3, () => 0.5)).toBe(4_000);
		expect(backoffMs(20, () => 0.99)).toBeLessThanOrEqual(BACKOFF_CAP_MS);
		expect(backoffMs(0, () => 0.5, true)).toBe(BACKOFF_CAP_MS / 2);
		expect(backoffMs(0, () => 0)).toBe(500);

		const { d, ws } = await dialer({ random: () => 0 });
		ws.close(1012, "service restart");
		expect(d.state).toMatchObject({
			connected: false,
			lastClose: "1012 service restart",
			retryInMs: 500,
		});
		await settle(700);
		expect(FakeSocket.opened).toHaveLength(2);

		const second = FakeSocket.last as FakeSocket;
		const slow = await dialer({ random: () => 0.5 });
		slow.ws.close(CLOSE.unauthenticated, "unknown agent key");
		expect(slow.d.state.retryInMs).toBe(BACKOFF_CAP_MS / 2);
		second.close(1000);
	});

	it("a socket that stays open but silent is closed and redialled", async () => {
		let now = 1_000_000;
		const { d, ws } = await dialer({ now: () => now, random: () => 0 });
		ws.deliver({
			t: "welcome",
			pair: "home",
			side: "standby",
			heartbeatMs: 1_000,
			serverTime: now,
		});
		now += 16_000;
		await settle(1_200);
		expect(d.state.connected).toBe(false);
		expect(d.state.lastClose).toMatch(/no frame from the Worker/);
	});
});

describe("dial-out faults in the agent's own status (what the Worker's admin view shows as connections.<side>.agent)", () => {
	const NOW = 1_800_000_000_000;

	async function dialingAgent() {
		const runner = fakeRunner();
		const t = await startTestAgent({
			runStep: runner.runStep,
			now: () => NOW,
			config: { watchdogUrl: "https://fg.example.workers.dev" },
			io: { WebSocket: FakeSocket as unknown as DialOutOptions["WebSocket"] },
		});
		const ws = FakeSocket.last as FakeSocket;
		return { t, runner, ws };
	}

	function welcome(ws: FakeSocket, serverTime = NOW) {
		ws.deliver({ t: "challenge", challenge: newChallenge(), serverTime });
		ws.deliver({ t: "welcome", pair: "home", side: "standby", heartbeatMs: 300_000, serverTime });
	}

	async function pushed(ws: FakeSocket, count: number): Promise<StatusResponse> {
		for (let i = 0; i < 200 && ws.frames("status").length < count; i++) await settle(10);
		const f = ws.frames("status")[count - 1];
		if (!f) throw new Error(`no status push number ${count}`);
		return f.status as StatusResponse;
	}

	it("a Worker redeploy drops the socket: the agent redials, and its status counts the connects and names the close", async () => {
		const { ws } = await dialingAgent();
		welcome(ws);
		expect((await pushed(ws, 1)).dialOut).toMatchObject({
			connected: true,
			connects: 1,
			lastClose: null,
		});
		// What a redeploy looks like from the agent: every socket closed by the runtime at once.
		ws.close(1012, "Durable Object reset because its code was updated.");
		// Backoff of the first retry: at most 1 s (full jitter under BACKOFF_BASE_MS).
		for (let i = 0; i < 150 && FakeSocket.last === ws; i++) await settle(10);
		const again = FakeSocket.last as FakeSocket;
		expect(again).not.toBe(ws);
		welcome(again);
		const report = (await pushed(again, 1)).dialOut;
		expect(report).toMatchObject({
			connected: true,
			connects: 2,
			lastClose: "1012 Durable Object reset because its code was updated.",
			lastCloseAt: NOW,
		});
	});

	it("the Worker's clock far off: its signed requests are refused as clock skew, counted, and the skew shown", async () => {
		const { t, ws, runner } = await dialingAgent();
		const workerNow = NOW - (MAX_SKEW_MS + 90_000);
		welcome(ws, workerNow);
		const headers = await signRequest({
			method: "POST",
			path: "/v1/promote",
			body: JSON.stringify({ opId: "skewed", term: 1 }),
			audience: t.audience,
			privateKey: t.keys.privateKey,
			now: workerNow,
		});
		ws.deliver({
			t: "request",
			id: 1,
			method: "POST",
			path: "/v1/promote",
			headers: { ...headers, "content-type": "application/json" },
			body: JSON.stringify({ opId: "skewed", term: 1 }),
		});
		const status = await pushed(ws, 2);
		expect(ws.frames("response")[0]).toMatchObject({ id: 1, status: 401 });
		expect(runner.calls).toEqual([]);
		expect(status.dialOut).toMatchObject({
			refused: 1,
			clockSkew: 1,
			skewMs: MAX_SKEW_MS + 90_000,
		});
		expect(status.dialOut?.lastDrop).toMatch(/stale-timestamp.*(ahead of|behind)/);
	});

	it("garbled frames from the Worker (or a proxy) are dropped unread and counted, with the newest reason", async () => {
		const { t, ws } = await dialingAgent();
		welcome(ws);
		await pushed(ws, 1);
		ws.deliver("not json");
		ws.deliver({ t: "tick", serverTime: 1e308, lease: null });
		ws.deliver({
			t: "welcome",
			pair: "office",
			side: "standby",
			heartbeatMs: 250,
			serverTime: NOW,
		});
		t.agent.dialOut?.pushSoon();
		const status = await pushed(ws, 2);
		expect(status.dialOut).toMatchObject({ dropped: 3, refused: 0, connected: true });
		expect(status.dialOut?.lastDrop).toContain("a welcome for office/standby");
	});
});
