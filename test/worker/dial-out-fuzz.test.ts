// Fuzz over the dial-out socket, agent -> Worker: 1,000 garbled or hostile frames reach the Durable Object's
// webSocketMessage handler; none escapes it as an exception, none changes the pair's state or issues a command,
// and each refusal is counted under its kind in the connection status.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterAll, describe, expect, it } from "vitest";
import {
	exportPrivateKey,
	importPrivateKey,
	MAX_FRAME_BYTES,
	MAX_SKEW_MS,
	newChallenge,
	signHello,
} from "../../protocol";
import type { RefusalKind } from "../../worker/src/agent-sockets";
import type { Store } from "../../worker/src/store";
import type { Side } from "../../worker/src/types";
import type { Watchdog } from "../../worker/src/watchdog";
import { TEST_AGENT_PRIVATE_KEY } from "./setup/watchdog-config";
import { standbyStatus } from "./support/dial-out-agent";
import { dropAlarm, TestClock, useClock, watchdog } from "./support/watchdog-harness";

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

interface Fuzzed {
	kind: string;
	/** Whether the socket has already said a valid hello (an authenticated agent sending garbage). */
	authed: boolean;
	data: string | ArrayBuffer;
	/** The refusal the object must count, or null: a frame it ignores without closing (a late answer). */
	refusal: RefusalKind | null;
}

const clock = new TestClock();
const stub = () => watchdog("g-dial");

afterAll(async () => {
	await dropAlarm(stub());
});

function nested(depth: number): string {
	return `${"[".repeat(depth)}${"]".repeat(depth)}`;
}

async function generate(
	r: ReturnType<typeof rng>,
	ctx: { side: Side; challenge: string; key: CryptoKey; otherKey: CryptoKey },
): Promise<Fuzzed> {
	const hello = (over: { now?: number; challenge?: string; side?: Side; key?: CryptoKey } = {}) =>
		signHello({
			pair: "dial",
			side: over.side ?? ctx.side,
			challenge: over.challenge ?? ctx.challenge,
			privateKey: over.key ?? ctx.key,
			now: over.now ?? clock.now,
		});
	const text = (v: unknown) => JSON.stringify(v);
	switch (r.int(17)) {
		case 0:
			return {
				kind: "random-text",
				authed: r.next() < 0.5,
				data: String.fromCharCode(...r.bytes(1 + r.int(400))),
				refusal: null, // decided below: "not JSON" or "invalid frame"
			};
		case 1:
			return {
				kind: "binary",
				authed: r.next() < 0.5,
				data: r.bytes(1 + r.int(300)).buffer as ArrayBuffer,
				refusal: "binary",
			};
		case 2: {
			const t = text(await hello());
			return {
				kind: "truncated",
				authed: false,
				data: t.slice(0, 1 + r.int(t.length - 1)),
				refusal: "not JSON",
			};
		}
		case 3:
			return {
				kind: "oversized",
				authed: r.next() < 0.5,
				data: text({ ...standbyStatus(clock.now), pad: "x".repeat(MAX_FRAME_BYTES) }),
				refusal: "too large",
			};
		case 4: {
			// A valid-looking hello whose signature is one character off.
			const h = await hello();
			const i = r.int(h.signature.length - 2);
			h.signature =
				h.signature.slice(0, i) + (h.signature[i] === "A" ? "B" : "A") + h.signature.slice(i + 1);
			return { kind: "bad-signature", authed: false, data: text(h), refusal: "bad signature" };
		}
		case 5:
			// A hello signed for another connection's challenge: a replay.
			return {
				kind: "replayed-hello",
				authed: false,
				data: text(await hello({ challenge: newChallenge() })),
				refusal: "bad signature",
			};
		case 6: {
			// Signed, for the other side or another pair than the socket was opened for.
			const h =
				r.next() < 0.5
					? await hello({ side: ctx.side === "standby" ? "primary" : "standby" })
					: { ...(await hello()), pair: "api" };
			return {
				kind: "wrong-pair-side",
				authed: false,
				data: text(h),
				refusal: "wrong pair or side",
			};
		}
		case 7: {
			const off = (MAX_SKEW_MS + 1 + r.int(86_400_000)) * (r.next() < 0.5 ? -1 : 1);
			return {
				kind: "clock-skew",
				authed: false,
				data: text(await hello({ now: clock.now + off })),
				refusal: "clock skew",
			};
		}
		case 8:
			return {
				kind: "unknown-key",
				authed: false,
				data: text(await hello({ key: ctx.otherKey })),
				refusal: "unknown key",
			};
		case 9:
			// Frames an agent may send only after its hello.
			return {
				kind: "before-hello",
				authed: false,
				data: text(
					r.pick([
						{ t: "status", seq: 1, status: standbyStatus(clock.now) },
						{ t: "response", id: 1, status: 200, headers: {}, body: "{}" },
					]),
				),
				refusal: "before hello",
			};
		case 10: {
			const huge = r.pick(["1e308", "1e400", "-1e400", "9007199254740993", "-1", "0.5"]);
			return {
				kind: "huge-number",
				authed: r.next() < 0.5,
				data: r.pick([
					`{"t":"response","id":${huge},"status":200,"headers":{},"body":""}`,
					`{"t":"status","seq":${huge},"status":${text(standbyStatus(clock.now))}}`,
					`{"t":"response","id":1,"status":${huge},"headers":{},"body":""}`,
				]),
				refusal: "invalid frame",
			};
		}
		case 11:
			return {
				kind: "proto-pollution",
				authed: r.next() < 0.5,
				data: r.pick([
					`{"t":"response","id":1,"status":200,"headers":{"__proto__":{"polluted":"x"}},"body":""}`,
					`{"t":"status","seq":1,"status":{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}}`,
					`{"t":"response","id":1,"status":200,"headers":{},"body":"","__proto__":{"polluted":true}}`,
				]),
				refusal: "invalid frame",
			};
		case 12: {
			const depth = 1_000 + r.int(30_000);
			return {
				kind: "deep-nesting",
				authed: r.next() < 0.5,
				data: r.pick([
					nested(depth),
					`{"t":"status","seq":1,"status":${nested(depth)}}`,
					`{"t":"response","id":1,"status":200,"headers":${nested(depth)},"body":""}`,
				]),
				refusal: "invalid frame",
			};
		}
		case 13:
			return {
				kind: "second-hello",
				authed: true,
				data: text(await hello()),
				refusal: "second hello",
			};
		case 14:
			// An answer to a request that was never sent (or already timed out): ignored, never an error.
			return {
				kind: "unknown-response",
				authed: true,
				data: text({ t: "response", id: 1 + r.int(1e9), status: 200, headers: {}, body: "{}" }),
				refusal: null,
			};
		case 15: {
			// A status with one field wrong: never stored.
			const bad = r.pick([
				{ term: -1 },
				{ role: "boss" },
				{ version: 99 },
				{ now: "soon" },
				{ gatewayActive: "yes" },
			]);
			return {
				kind: "bad-status",
				authed: true,
				data: text({ t: "status", seq: 1, status: { ...standbyStatus(clock.now), ...bad } }),
				refusal: "invalid frame",
			};
		}
		default:
			return {
				kind: "unknown-frame",
				authed: r.next() < 0.5,
				data: text(r.pick([{ t: "sudo" }, { t: "request", id: 1 }, {}, [], null, 7])),
				refusal: "invalid frame",
			};
	}
}

describe("dial-out fuzz, agent -> Worker", () => {
	it("1000 garbled or hostile frames: no exception escapes, no state changes, no command, every refusal counted", async () => {
		// FUZZ_SEED from the host reaches workerd as a binding (test/worker/setup/loopback-gateways.ts).
		const given = (env as unknown as { FUZZ_SEED?: string }).FUZZ_SEED;
		const seed = Number(given ?? Date.now() % 1_000_000);
		console.log(`dial-out worker fuzz: seed ${seed} (FUZZ_SEED=${seed} reproduces it)`);
		const r = rng(seed);
		await useClock(stub(), clock);
		const key = await importPrivateKey(TEST_AGENT_PRIVATE_KEY);
		const other = (await crypto.subtle.generateKey("Ed25519", true, [
			"sign",
			"verify",
		])) as CryptoKeyPair;
		const otherKey = await importPrivateKey(await exportPrivateKey(other.privateKey));

		const result = await runInDurableObject(stub(), async (w: Watchdog, state) => {
			const store = (w as unknown as { store: Store }).store;
			const snapshot = () =>
				JSON.stringify({
					state: store.state("dial") ?? null,
					events: store.events("dial", 50),
					primary: w.sockets.latestStatus("dial", "primary", Number.MAX_SAFE_INTEGER) ?? null,
					standby: w.sockets.latestStatus("dial", "standby", Number.MAX_SAFE_INTEGER) ?? null,
				});
			const before = {
				snapshot: snapshot(),
				primary: w.sockets.connection("dial", "primary"),
				standby: w.sockets.connection("dial", "standby"),
			};
			const expected: Record<Side, Partial<Record<RefusalKind, number>>> = {
				primary: {},
				standby: {},
			};
			const escaped: string[] = [];
			const received: string[] = [];
			const kinds = new Map<string, number>();
			const wrong: string[] = [];
			for (let i = 0; i < 1000; i++) {
				const side: Side = r.next() < 0.5 ? "primary" : "standby";
				const challenge = newChallenge();
				const f = await generate(r, { side, challenge, key, otherKey });
				kinds.set(f.kind, (kinds.get(f.kind) ?? 0) + 1);
				const context = `seed ${seed}, frame ${i} (${f.kind}, ${f.authed ? "after" : "before"} hello, ${side})`;
				// A socket as the object's accept() makes it, authenticated or not.
				const { 0: client, 1: server } = new WebSocketPair();
				state.acceptWebSocket(server, [`dial/${side}`]);
				server.serializeAttachment({
					pair: "dial",
					side,
					challenge,
					connectedAt: clock.now,
					authedAt: f.authed ? clock.now : null,
				});
				client.accept();
				client.addEventListener("message", (e) => received.push(`${context}: ${String(e.data)}`));
				let refusal = f.refusal;
				if (f.kind === "random-text") {
					let json = true;
					try {
						JSON.parse(f.data as string);
					} catch {
						json = false;
					}
					refusal = json ? "invalid frame" : "not JSON";
				}
				try {
					await w.webSocketMessage(server, f.data);
				} catch (e) {
					escaped.push(`${context}: ${(e as Error).stack ?? e}`);
				}
				const open = server.readyState === WebSocket.OPEN;
				if (refusal === null) {
					if (!open) wrong.push(`${context}: closed, expected ignored`);
					server.close(1000, "fuzz: next");
				} else {
					if (open) wrong.push(`${context}: left open, expected refused as ${refusal}`);
					expected[side][refusal] = (expected[side][refusal] ?? 0) + 1;
				}
			}
			// Let close events and any late sends land before reading what the clients received.
			await new Promise((res) => setTimeout(res, 50));
			return {
				escaped,
				wrong,
				received,
				kinds: Object.fromEntries(kinds),
				expected,
				before,
				after: {
					snapshot: snapshot(),
					primary: w.sockets.connection("dial", "primary"),
					standby: w.sockets.connection("dial", "standby"),
				},
				pending: (w.sockets as unknown as { pending: Map<number, unknown> }).pending.size,
			};
		});
		console.log(`dial-out worker fuzz, seed ${seed}: ${JSON.stringify(result.kinds)}`);
		expect(result.escaped, `seed ${seed}`).toEqual([]);
		expect(result.wrong, `seed ${seed}`).toEqual([]);
		// No welcome, no request, no tick: the object sent nothing to any of these sockets.
		expect(result.received, `seed ${seed}`).toEqual([]);
		expect(result.after.snapshot, `seed ${seed}`).toBe(result.before.snapshot);
		expect(result.pending, `seed ${seed}`).toBe(0);
		expect(Object.keys(result.kinds).length, `seed ${seed}`).toBe(17);
		for (const side of ["primary", "standby"] as const) {
			const b = result.before[side];
			const a = result.after[side];
			const delta: Partial<Record<RefusalKind, number>> = {};
			for (const [k, n] of Object.entries(a.refusals)) {
				const d = n - (b.refusals[k as RefusalKind] ?? 0);
				if (d > 0) delta[k as RefusalKind] = d;
			}
			// Each refusal under its kind (none "internal error"), and the total.
			expect(delta, `seed ${seed}, ${side}`).toEqual(result.expected[side]);
			const total = Object.values(result.expected[side]).reduce((s, n) => s + n, 0);
			expect(a.refused - b.refused, `seed ${seed}, ${side}`).toBe(total);
			expect(a.frames - b.frames, `seed ${seed}, ${side}`).toBeGreaterThan(0);
			expect(a.lastRefusal, `seed ${seed}, ${side}`).toBeTruthy();
		}
		expect(({} as Record<string, unknown>).polluted).toBeUndefined();
	}, 120_000); // 1000 frames, a third of them Ed25519 hellos signed here and verified by the object
});
