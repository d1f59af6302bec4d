// Fuzz over the dial-out socket, Worker -> agent: 1,000 garbled or hostile frames run no step, never take the agent down, and each is counted (dropped or refused) in the status it pushes.
import { describe, expect, it } from "vitest";
import type { DialOutOptions } from "../../agent/src/dial-out";
import {
	type Audience,
	HEADERS,
	MAX_FRAME_BYTES,
	MAX_SKEW_MS,
	type StatusResponse,
	signRequest,
	toBase64Url,
} from "../../protocol";
import { fakeRunner, startTestAgent } from "./helpers";

/** Seeded PRNG (mulberry32): a failure reproduces from the seed in its message (FUZZ_SEED=...). */
function rng(seed: number) {
	let a = seed >>> 0;
	const next = () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
	const int = (n: number) => Math.floor(next() * n);
	const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T;
	const bytes = (n: number) => Uint8Array.from({ length: n }, () => int(256));
	return { next, int, pick, bytes };
}

/** A WebSocket double: the test plays the Worker's end. */
class FakeSocket extends EventTarget {
	static last: FakeSocket | null = null;
	readyState = 1;
	readonly sent: Record<string, unknown>[] = [];
	constructor(readonly url: string) {
		super();
		FakeSocket.last = this;
	}
	send(text: string) {
		this.sent.push(JSON.parse(text) as Record<string, unknown>);
	}
	close(code = 1000, reason = "") {
		if (this.readyState === 3) return;
		this.readyState = 3;
		this.dispatchEvent(Object.assign(new Event("close"), { code, reason }));
	}
	deliver(data: unknown) {
		this.dispatchEvent(Object.assign(new Event("message"), { data }));
	}
	frames(t: string) {
		return this.sent.filter((f) => f.t === t);
	}
}

type Expect = "dropped" | "refused" | "clock-skew";
interface Fuzzed {
	kind: string;
	data: unknown;
	expect: Expect;
	/** The request frame's id, when the agent must answer it (refused: a 4xx response frame). */
	id?: number;
}

const NOW = 1_800_000_000_000;
const PATHS = ["/v1/status", "/v1/promote", "/v1/demote", "/v1/sync"] as const;

/** Nested arrays `depth` deep: JSON.parse takes it, no frame schema does. */
function nested(depth: number): string {
	return `${"[".repeat(depth)}${"]".repeat(depth)}`;
}

function otherAudience(own: Audience, r: ReturnType<typeof rng>): Audience {
	return r.pick([
		{ ...own, pair: "office" },
		{ ...own, side: own.side === "standby" ? "primary" : "standby" },
		{ ...own, agent: toBase64Url(new Uint8Array(32)) },
	] as Audience[]);
}

async function generate(
	r: ReturnType<typeof rng>,
	id: number,
	ctx: { privateKey: CryptoKey; audience: Audience; replay: Record<string, unknown> },
): Promise<Fuzzed> {
	const command = (over: Record<string, unknown> = {}) =>
		JSON.stringify({ opId: `fz${r.int(1e9)}`, term: r.int(5), ...over });
	const signed = async (opts: {
		path: string;
		body: string | null;
		audience?: Audience;
		now?: number;
	}) => {
		const method = opts.body === null ? "GET" : "POST";
		const headers = await signRequest({
			method,
			path: opts.path,
			body: opts.body ?? "",
			audience: opts.audience ?? ctx.audience,
			privateKey: ctx.privateKey,
			now: opts.now ?? NOW,
		});
		if (method === "POST") headers["content-type"] = "application/json";
		return { t: "request", id, method, path: opts.path, headers, body: opts.body };
	};
	switch (r.int(14)) {
		case 0: {
			// Random bytes as text (what a broken proxy might hand over).
			const text = String.fromCharCode(...r.bytes(1 + r.int(400)));
			return { kind: "random-text", data: text, expect: "dropped" };
		}
		case 1: {
			// Binary frames: the protocol has none (Node hands them over as a Blob, or a Buffer).
			const b = r.bytes(1 + r.int(200));
			return {
				kind: "binary",
				data: r.pick([new Blob([b]), b.buffer, Buffer.from(b)]),
				expect: "dropped",
			};
		}
		case 2: {
			// A valid signed request, cut short.
			const text = JSON.stringify(await signed({ path: "/v1/promote", body: command() }));
			return {
				kind: "truncated",
				data: text.slice(0, 1 + r.int(text.length - 1)),
				expect: "dropped",
			};
		}
		case 3: {
			// Over MAX_FRAME_BYTES: refused on its size, before JSON.parse.
			const f = await signed({ path: "/v1/promote", body: command() });
			const pad = "x".repeat(MAX_FRAME_BYTES + r.int(1000));
			return { kind: "oversized", data: JSON.stringify({ ...f, body: pad }), expect: "dropped" };
		}
		case 4: {
			// Signed, then one signature character changed (or the body changed after signing).
			const f = await signed({ path: r.pick(PATHS), body: r.next() < 0.3 ? null : command() });
			const h = f.headers as Record<string, string>;
			if (f.body !== null && r.next() < 0.5) {
				f.body = command({ term: 4_000 });
			} else {
				const sig = h[HEADERS.signature] ?? "";
				const i = r.int(sig.length);
				h[HEADERS.signature] = sig.slice(0, i) + (sig[i] === "A" ? "B" : "A") + sig.slice(i + 1);
			}
			return { kind: "bad-signature", data: JSON.stringify(f), expect: "refused", id };
		}
		case 5: {
			// Correctly signed for another agent: another pair, the other side, another key.
			const f = await signed({
				path: r.pick(PATHS),
				body: command(),
				audience: otherAudience(ctx.audience, r),
			});
			return { kind: "wrong-audience", data: JSON.stringify(f), expect: "refused", id };
		}
		case 6:
			// The one valid request the test sent, sent again: its nonce is spent.
			return {
				kind: "replayed-nonce",
				data: JSON.stringify({ ...ctx.replay, id }),
				expect: "refused",
				id,
			};
		case 7: {
			// Correctly signed, by a Worker whose clock is far off (either way).
			const off = (MAX_SKEW_MS + 1 + r.int(86_400_000)) * (r.next() < 0.5 ? -1 : 1);
			const f = await signed({
				path: r.pick(PATHS),
				body: r.next() < 0.5 ? null : command(),
				now: NOW + off,
			});
			return { kind: "clock-skew", data: JSON.stringify(f), expect: "clock-skew", id };
		}
		case 8: {
			// Huge or non-finite numbers where the frame has numbers.
			const huge = r.pick(["1e308", "1e400", "-1e400", "9007199254740993", "-0.5", "NaN"]);
			const text = r.pick([
				`{"t":"request","id":${huge},"method":"GET","path":"/v1/status","headers":{},"body":null}`,
				`{"t":"tick","serverTime":${huge},"lease":null}`,
				`{"t":"welcome","pair":"home","side":"standby","heartbeatMs":${huge},"serverTime":1}`,
			]);
			return { kind: "huge-number", data: text, expect: "dropped" };
		}
		case 9: {
			// A signed command whose term is past 2^53: the agent's body schema refuses it.
			const term = r.pick(["1e300", "9007199254740993", "-1", "1.5"]);
			const body = `{"opId":"big${r.int(1e9)}","term":${term}}`;
			const f = await signed({ path: r.pick(["/v1/promote", "/v1/demote"]), body });
			return { kind: "huge-term", data: JSON.stringify(f), expect: "refused", id };
		}
		case 10: {
			// Prototype-pollution keys: at the top (strict schema), in headers (a header-name pattern), in a
			// body signed for another agent (never parsed as a command).
			const where = r.int(3);
			if (where === 0)
				return {
					kind: "proto-top",
					data: `{"t":"tick","serverTime":1,"lease":null,"__proto__":{"polluted":true}}`,
					expect: "dropped",
				};
			if (where === 1)
				return {
					kind: "proto-headers",
					// z.record alone would skip a "__proto__" key (escaped or not) and accept the frame.
					data: `{"t":"request","id":${id},"method":"POST","path":"/v1/promote","headers":${r.pick(['{"__proto__":{"polluted":"x"}}', '{"\\u005f_proto__":"x"}', '{"constructor":"x"}'])},"body":null}`,
					expect: "dropped",
				};
			const f = await signed({
				path: "/v1/promote",
				body: `{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},"opId":"pp${r.int(1e9)}","term":1}`,
				audience: otherAudience(ctx.audience, r),
			});
			return { kind: "proto-body", data: JSON.stringify(f), expect: "refused", id };
		}
		case 11: {
			// Deeply nested JSON, under the size cap.
			const depth = 1_000 + r.int(30_000);
			const data = r.pick([
				nested(depth),
				`{"t":"request","id":1,"method":"GET","path":"/v1/status","headers":{},"body":null,"x":${nested(depth)}}`,
				`{"t":"tick","serverTime":1,"lease":${nested(depth)}}`,
			]);
			return { kind: "deep-nesting", data, expect: "dropped" };
		}
		case 12:
			// Frames the Worker never sends on a welcomed connection: a welcome for another agent, a new challenge.
			return {
				kind: "wrong-pair-side",
				data: JSON.stringify(
					r.pick([
						{ t: "welcome", pair: "office", side: "standby", heartbeatMs: 250, serverTime: NOW },
						{ t: "welcome", pair: "home", side: "primary", heartbeatMs: 250, serverTime: NOW },
						{ t: "challenge", challenge: toBase64Url(r.bytes(16)), serverTime: NOW },
					]),
				),
				expect: "dropped",
			};
		default: {
			// Well-formed request frames without a signature, or with a garbled one.
			const headers: Record<string, string> = {};
			if (r.next() < 0.5) {
				headers[HEADERS.signature] = toBase64Url(r.bytes(64));
				headers[HEADERS.timestamp] = String(NOW);
				headers[HEADERS.nonce] = toBase64Url(r.bytes(16));
			}
			const f = { t: "request", id, method: "POST", path: r.pick(PATHS), headers, body: command() };
			return { kind: "unsigned", data: JSON.stringify(f), expect: "refused", id };
		}
	}
}

async function until<T>(what: string, check: () => T | undefined | null | false): Promise<T> {
	const end = Date.now() + 10_000;
	for (;;) {
		const v = check();
		if (v) return v;
		if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 1));
	}
}

describe("dial-out fuzz, Worker -> agent", () => {
	it("1000 garbled or hostile frames: no step runs, the agent keeps serving, each is counted in its status", async () => {
		const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);
		console.log(`dial-out agent fuzz: seed ${seed} (FUZZ_SEED=${seed} reproduces it)`);
		const r = rng(seed);
		const runner = fakeRunner();
		const t = await startTestAgent({
			runStep: runner.runStep,
			now: () => NOW,
			config: { watchdogUrl: "https://fg.example.workers.dev" },
			io: {
				WebSocket: FakeSocket as unknown as DialOutOptions["WebSocket"],
				// Every refusal is counted here, not cut short by the auth-failure limiter's 429.
				authFailureLimit: 1_000_000,
			},
		});
		const dial = t.agent.dialOut;
		if (!dial) throw new Error("no dialer: watchdogUrl is set");
		const ws = FakeSocket.last as FakeSocket;
		const state = dial.state;
		const counts = { dropped: 0, refused: 0, clockSkew: 0 };
		const kinds = new Map<string, number>();
		let id = 0;

		// Before the welcome: requests and ticks are not the Worker's protocol yet, even validly signed.
		for (let i = 0; i < 50; i++) {
			const f =
				i % 2 === 0
					? {
							t: "request",
							id: ++id,
							method: "GET",
							path: "/v1/status",
							headers: await signRequest({
								method: "GET",
								path: "/v1/status",
								audience: t.audience,
								privateKey: t.keys.privateKey,
								now: NOW,
							}),
							body: null,
						}
					: { t: "tick", serverTime: NOW, lease: null };
			ws.deliver(JSON.stringify(f));
			counts.dropped += 1;
			expect(state.dropped, `seed ${seed}, pre-welcome frame ${i}`).toBe(counts.dropped);
		}
		kinds.set("before-welcome", 50);
		expect(ws.frames("response")).toEqual([]);

		ws.deliver(
			JSON.stringify({ t: "challenge", challenge: toBase64Url(r.bytes(16)), serverTime: NOW }),
		);
		await until("hello", () => ws.frames("hello").length === 1);
		ws.deliver(
			JSON.stringify({
				t: "welcome",
				pair: "home",
				side: "standby",
				heartbeatMs: 300_000,
				serverTime: NOW,
			}),
		);
		expect(state.connected).toBe(true);

		// One valid request, answered: its frame is what the replays resend.
		const replay = {
			t: "request",
			id: ++id,
			method: "GET",
			path: "/v1/status",
			headers: await signRequest({
				method: "GET",
				path: "/v1/status",
				audience: t.audience,
				privateKey: t.keys.privateKey,
				now: NOW,
			}),
			body: null,
		};
		ws.deliver(JSON.stringify(replay));
		const first = await until("the valid request's answer", () =>
			ws.frames("response").find((f) => f.id === replay.id),
		);
		expect(first.status).toBe(200);

		for (let i = 50; i < 1000; i++) {
			const f = await generate(r, ++id, {
				privateKey: t.keys.privateKey,
				audience: t.audience,
				replay,
			});
			kinds.set(f.kind, (kinds.get(f.kind) ?? 0) + 1);
			const context = `seed ${seed}, frame ${i} (${f.kind})`;
			ws.deliver(f.data);
			if (f.expect === "dropped") {
				counts.dropped += 1;
				// Dropped frames are counted before anything is awaited.
				expect(state.dropped, context).toBe(counts.dropped);
				continue;
			}
			counts.refused += 1;
			if (f.expect === "clock-skew") counts.clockSkew += 1;
			const res = await until(context, () => ws.frames("response").find((x) => x.id === f.id));
			expect(res.status as number, context).toBeGreaterThanOrEqual(400);
			expect(res.status as number, context).toBeLessThan(500);
			expect(state.refused, context).toBe(counts.refused);
			expect(state.clockSkew, context).toBe(counts.clockSkew);
		}
		console.log(`dial-out agent fuzz, seed ${seed}: ${JSON.stringify(Object.fromEntries(kinds))}`);

		expect(runner.calls, `seed ${seed}`).toEqual([]);
		expect(({} as Record<string, unknown>).polluted, `seed ${seed}`).toBeUndefined();
		expect(state.connected, `seed ${seed}`).toBe(true);
		// Every generator branch ran.
		expect(kinds.size, `seed ${seed}: ${[...kinds.keys()].join(", ")}`).toBe(17);

		// The pushed status reports the counts (what the Worker's admin view shows as connections.agent).
		const pushes = ws.frames("status").length;
		dial.pushSoon();
		const pushed = await until("a status push", () => ws.frames("status")[pushes]);
		const report = (pushed.status as StatusResponse).dialOut;
		expect(report, `seed ${seed}`).toMatchObject({
			connected: true,
			connects: 1,
			dropped: counts.dropped,
			clockSkew: counts.clockSkew,
		});
		expect(report?.refused, `seed ${seed}`).toBe(counts.refused);
		expect(report?.skewMs).toBe(0);

		// The agent still serves: a valid request is answered, a valid status read over HTTP too.
		const again = {
			...replay,
			id: ++id,
			headers: await signRequest({
				method: "GET",
				path: "/v1/status",
				audience: t.audience,
				privateKey: t.keys.privateKey,
				now: NOW,
			}),
		};
		ws.deliver(JSON.stringify(again));
		const ok = await until("the answer after the fuzz", () =>
			ws.frames("response").find((f) => f.id === again.id),
		);
		expect(ok.status).toBe(200);
		expect((await t.send("GET", "/v1/status")).status).toBe(200);
	}, 120_000); // 1000 frames, about half Ed25519-signed and verified: seconds alone, far more on a loaded 2-core machine
});
