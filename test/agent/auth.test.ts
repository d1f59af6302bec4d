// Every reject path of the signed API, with real signatures from protocol/: each is a 4xx JSON error and runs nothing.
import { describe, expect, it } from "vitest";
import {
	generateKeyPair,
	HEADERS,
	MAX_BODY_BYTES,
	MAX_SKEW_MS,
	PROTOCOL_VERSION,
	signRequest,
} from "../../protocol";
import { errorOf, fakeRunner, startTestAgent } from "./helpers";

const T0 = 1_800_000_000_000;
const fixedClock = () => T0;

async function setup() {
	const runner = fakeRunner();
	const t = await startTestAgent({ runStep: runner.runStep, now: fixedClock });
	return { ...t, runner };
}

describe("accepted requests (controls)", () => {
	it("GET /healthz needs no signature and says nothing else", async () => {
		const t = await setup();
		const res = await t.send("GET", "/healthz", { unsigned: true });
		expect(res.status).toBe(200);
		expect(await res.json()).toEqual({ ok: true });
	});

	it("a signed status and a signed promote succeed", async () => {
		const t = await setup();
		const status = await t.send("GET", "/v1/status");
		expect(status.status).toBe(200);
		expect(await status.json()).toMatchObject({
			version: PROTOCOL_VERSION,
			role: "standby",
			term: 0,
			gatewayActive: false,
			peer: null,
		});
		const promote = await t.command("promote", { opId: "p1", term: 1, waitMs: 5_000 });
		expect(promote.status).toBe(200);
		expect(await promote.json()).toMatchObject({ opId: "p1", status: "succeeded" });
		expect(t.runner.calls.map((c) => c.step.type)).toEqual([
			"git-sync",
			"systemd-start",
			"wait-ready",
		]);
	});
});

describe("rejects, with nothing run", () => {
	it("missing signature -> 401 missing-signature", async () => {
		const t = await setup();
		const res = await t.command("promote", { opId: "a", term: 1 }, { unsigned: true });
		expect(await errorOf(res)).toMatchObject({ status: 401, code: "missing-signature" });
		expect(t.runner.calls).toHaveLength(0);
	});

	it("invalid signature (body changed after signing) -> 401 bad-signature", async () => {
		const t = await setup();
		const body = JSON.stringify({ opId: "a", term: 1 });
		const headers = await signRequest({
			method: "POST",
			path: "/v1/promote",
			body,
			audience: t.audience,
			privateKey: t.keys.privateKey,
			now: T0,
		});
		const res = await t.send("POST", "/v1/promote", {
			unsigned: true,
			body: JSON.stringify({ opId: "a", term: 2 }),
			headers,
		});
		expect(await errorOf(res)).toMatchObject({ status: 401, code: "bad-signature" });
		expect(t.runner.calls).toHaveLength(0);
	});

	it("signed for another path -> 401 bad-signature", async () => {
		const t = await setup();
		const body = JSON.stringify({ opId: "a", term: 1 });
		const headers = await signRequest({
			method: "POST",
			path: "/v1/sync",
			body,
			audience: t.audience,
			privateKey: t.keys.privateKey,
			now: T0,
		});
		const res = await t.send("POST", "/v1/promote", { unsigned: true, body, headers });
		expect(await errorOf(res)).toMatchObject({ status: 401, code: "bad-signature" });
	});

	it("a key the agent does not trust -> 401 unknown-key", async () => {
		const t = await setup();
		const stranger = await generateKeyPair();
		const res = await t.command("promote", { opId: "a", term: 1 }, { keys: stranger });
		const error = await errorOf(res);
		expect(error).toMatchObject({ status: 401, code: "unknown-key" });
		expect(error.message).toContain(stranger.keyId);
		expect(t.runner.calls).toHaveLength(0);
	});

	it(`timestamp exactly ${MAX_SKEW_MS / 1000} s off is accepted; one ms more -> 401 stale-timestamp`, async () => {
		const t = await setup();
		for (const signedAt of [T0 - MAX_SKEW_MS, T0 + MAX_SKEW_MS]) {
			expect((await t.send("GET", "/v1/status", { signedAt })).status).toBe(200);
		}
		for (const signedAt of [T0 - MAX_SKEW_MS - 1, T0 + MAX_SKEW_MS + 1]) {
			const res = await t.command("promote", { opId: `x${signedAt}`, term: 1 }, { signedAt });
			expect(await errorOf(res)).toMatchObject({ status: 401, code: "stale-timestamp" });
		}
		expect(t.runner.calls).toHaveLength(0);
	});

	it("malformed auth headers -> 400 malformed-headers", async () => {
		const t = await setup();
		const res = await t.send("GET", "/v1/status", { headers: { [HEADERS.nonce]: "short" } });
		expect(await errorOf(res)).toMatchObject({ status: 400, code: "malformed-headers" });
	});

	it("a replayed request -> 401 replayed-nonce; the first one ran once", async () => {
		const t = await setup();
		const body = JSON.stringify({ opId: "r1", term: 1, waitMs: 5_000 });
		const headers = await signRequest({
			method: "POST",
			path: "/v1/promote",
			body,
			audience: t.audience,
			privateKey: t.keys.privateKey,
			now: T0,
		});
		expect((await t.send("POST", "/v1/promote", { unsigned: true, body, headers })).status).toBe(
			200,
		);
		const again = await t.send("POST", "/v1/promote", { unsigned: true, body, headers });
		expect(await errorOf(again)).toMatchObject({ status: 401, code: "replayed-nonce" });
		expect(t.runner.calls).toHaveLength(3);
	});

	it("a replay after an agent restart is still refused (the nonce cache is persisted)", async () => {
		const first = await setup();
		const headers = await signRequest({
			method: "GET",
			path: "/v1/status",
			audience: first.audience,
			privateKey: first.keys.privateKey,
			now: T0,
		});
		expect((await first.send("GET", "/v1/status", { unsigned: true, headers })).status).toBe(200);
		await first.agent.close();
		const second = await startTestAgent({ now: fixedClock, stateDir: first.stateDir });
		const res = await second.send("GET", "/v1/status", { unsigned: true, headers });
		expect(await errorOf(res)).toMatchObject({ status: 401, code: "replayed-nonce" });
	});

	it("a term below the highest seen -> 409 stale-term, and the term does not drop", async () => {
		const t = await setup();
		expect((await t.command("promote", { opId: "t5", term: 5, waitMs: 5_000 })).status).toBe(200);
		const calls = t.runner.calls.length;
		const res = await t.command("demote", { opId: "t4", term: 4 });
		const error = await errorOf(res);
		expect(error).toMatchObject({ status: 409, code: "stale-term" });
		expect(error.message).toContain("(5)");
		expect(t.runner.calls).toHaveLength(calls);
		const status = (await (await t.send("GET", "/v1/status")).json()) as { term: number };
		expect(status.term).toBe(5);
	});

	it("an unknown field -> 400 invalid-body naming it", async () => {
		const t = await setup();
		const res = await t.command("promote", { opId: "a", term: 1, force: true });
		const error = await errorOf(res);
		expect(error).toMatchObject({ status: 400, code: "invalid-body" });
		expect(error.message).toContain('unknown field "force"');
		expect(t.runner.calls).toHaveLength(0);
	});

	it("a bad field value -> 400 invalid-body naming the field", async () => {
		const t = await setup();
		const error = await errorOf(await t.command("promote", { opId: "a", term: -1 }));
		expect(error).toMatchObject({ status: 400, code: "invalid-body" });
		expect(error.message).toMatch(/^term: expected an integer from 0 to 2147483647/);
		const notJson = await t.send("POST", "/v1/promote", { body: "{opId: a}" });
		expect(await errorOf(notJson)).toMatchObject({ status: 400, code: "invalid-body" });
	});

	it(`a body over ${MAX_BODY_BYTES} bytes -> 413 body-too-large (exactly the limit is read)`, async () => {
		const t = await setup();
		const padded = (size: number) => {
			const base = JSON.stringify({ opId: "big", term: 1 });
			return `${base.slice(0, -1)}${" ".repeat(size - base.length)}}`;
		};
		const atLimit = await t.send("POST", "/v1/promote", { body: padded(MAX_BODY_BYTES) });
		// Exactly 16 KiB passes the size check and the signature; the JSON is valid, so it runs.
		expect(atLimit.status).toBe(200);
		const over = await t.send("POST", "/v1/promote", { body: padded(MAX_BODY_BYTES + 1) });
		expect(await errorOf(over)).toMatchObject({ status: 413, code: "body-too-large" });
	});

	it("an oversized body is caught while reading, whatever Content-Length claims", async () => {
		const t = await setup();
		const chunk = new Uint8Array(4096).fill(0x20);
		let sent = 0;
		const stream = new ReadableStream<Uint8Array>({
			pull(controller) {
				// An endless body: the agent must stop reading, not buffer it all.
				sent += chunk.byteLength;
				controller.enqueue(chunk);
				if (sent > 1_000_000) controller.close();
			},
		});
		const res = await t.agent.app.request(
			"/v1/promote",
			{
				method: "POST",
				body: stream,
				// Signed headers (over another body): an unsigned one is refused before any reading (gate.ts).
				headers: {
					"content-type": "application/json",
					"content-length": "10",
					...(await signRequest({
						method: "POST",
						path: "/v1/promote",
						body: "",
						privateKey: t.keys.privateKey,
						audience: t.audience,
						now: T0,
					})),
				},
				duplex: "half",
			} as RequestInit,
			{ incoming: { socket: { remoteAddress: "192.0.2.9" } } },
		);
		expect(await errorOf(res)).toMatchObject({ status: 413, code: "body-too-large" });
		expect(sent).toBeLessThan(1_000_000);
	});

	it("a declared Content-Length over the limit is refused before reading", async () => {
		const t = await setup();
		const res = await t.send("POST", "/v1/promote", {
			body: "{}",
			headers: { "content-length": String(MAX_BODY_BYTES + 1) },
		});
		expect(await errorOf(res)).toMatchObject({ status: 413, code: "body-too-large" });
	});

	it("a POST that is not application/json -> 415 unsupported-media-type", async () => {
		const t = await setup();
		for (const type of ["text/plain", "application/x-www-form-urlencoded", "application/jsonx"]) {
			const res = await t.command(
				"promote",
				{ opId: "a", term: 1 },
				{ headers: { "content-type": type } },
			);
			expect(await errorOf(res)).toMatchObject({ status: 415, code: "unsupported-media-type" });
		}
		const withCharset = await t.command(
			"promote",
			{ opId: "ok", term: 1 },
			{ headers: { "content-type": "Application/JSON; charset=utf-8" } },
		);
		expect(withCharset.status).toBe(200);
	});

	it("unknown routes -> 404 and wrong methods -> 405, both as JSON errors", async () => {
		const t = await setup();
		expect(await errorOf(await t.send("GET", "/v1/nope"))).toMatchObject({
			status: 404,
			code: "not-found",
		});
		expect(await errorOf(await t.send("GET", "/nope", { unsigned: true }))).toMatchObject({
			status: 404,
		});
		expect(await errorOf(await t.send("GET", "/v1/promote"))).toMatchObject({
			status: 405,
			code: "method-not-allowed",
		});
		expect(
			await errorOf(await t.send("POST", "/healthz", { unsigned: true, body: "{}" })),
		).toMatchObject({
			status: 405,
		});
		// Unsigned requests to any /v1 path learn nothing beyond "sign it".
		expect(await errorOf(await t.send("GET", "/v1/nope", { unsigned: true }))).toMatchObject({
			status: 401,
			code: "missing-signature",
		});
	});
});

describe("rate limiting of auth failures", () => {
	it("after 10 rejects from one address the next get 429, other addresses and signed requests still pass", async () => {
		const t = await setup();
		for (let i = 0; i < 10; i++) {
			const res = await t.send("GET", "/v1/status", { unsigned: true, from: "203.0.113.7" });
			expect(res.status).toBe(401);
		}
		const limited = await t.send("GET", "/v1/status", { unsigned: true, from: "203.0.113.7" });
		expect(await errorOf(limited)).toMatchObject({ status: 429, code: "rate-limited" });
		expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
		// Another source is unaffected.
		expect(
			(await t.send("GET", "/v1/status", { unsigned: true, from: "203.0.113.8" })).status,
		).toBe(401);
		// A correctly signed request from the limited address is not locked out (tunnels share one address).
		expect((await t.send("GET", "/v1/status", { from: "203.0.113.7" })).status).toBe(200);
	});

	it("the window ends: rejects count again from zero", async () => {
		let now = T0;
		const t = await startTestAgent({ now: () => now });
		for (let i = 0; i < 11; i++)
			await t.send("GET", "/v1/status", { unsigned: true, from: "198.51.100.1" });
		expect(
			(await t.send("GET", "/v1/status", { unsigned: true, from: "198.51.100.1" })).status,
		).toBe(429);
		now += 60_000;
		expect(
			(await t.send("GET", "/v1/status", { unsigned: true, from: "198.51.100.1" })).status,
		).toBe(401);
	});
});

describe("logging", () => {
	it("JSON lines naming each refusal, never keys, signatures, nonces or bodies", async () => {
		const lines: string[] = [];
		const { createLogger } = await import("../../agent/src/log");
		const log = createLogger({ level: "debug", write: (line) => lines.push(line) });
		const t = await startTestAgent({ now: fixedClock, io: { log } });
		const body = JSON.stringify({ opId: "secret-op-body", term: 5, waitMs: 5_000 });
		const headers = await signRequest({
			method: "POST",
			path: "/v1/promote",
			body,
			audience: t.audience,
			privateKey: t.keys.privateKey,
			now: T0,
		});
		await t.send("POST", "/v1/promote", { unsigned: true, body, headers });
		await t.send("POST", "/v1/promote", { unsigned: true, body, headers }); // replay
		await t.command("demote", { opId: "old", term: 1 }); // stale term
		await t.send("GET", "/v1/status", { unsigned: true });
		const entries = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
		for (const entry of entries)
			expect(Object.keys(entry).slice(0, 3)).toEqual(["time", "level", "msg"]);
		expect(entries).toContainEqual(
			expect.objectContaining({ level: "warn", msg: "request rejected", code: "replayed-nonce" }),
		);
		expect(entries).toContainEqual(
			expect.objectContaining({ level: "warn", msg: "request refused", code: "stale-term" }),
		);
		expect(entries).toContainEqual(
			expect.objectContaining({
				level: "warn",
				msg: "request rejected",
				code: "missing-signature",
			}),
		);
		expect(entries).toContainEqual(
			expect.objectContaining({ msg: "operation accepted", opId: "secret-op-body" }),
		);
		const all = lines.join("\n");
		for (const secret of [
			headers[HEADERS.signature],
			headers[HEADERS.nonce],
			t.keys.privateKeyText.slice(13, 45),
			body,
		]) {
			expect(all).not.toContain(secret);
		}
	});
});
