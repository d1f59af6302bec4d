// Issue 12 finding 7: the replay cache holds across clock jumps and a deleted nonce file (the cache itself and a real agent app).
import { readdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { NONCE_FILE, NONCE_MARKER_FILE, ReplayCache } from "../../agent/src/replay-cache";
import { MAX_SKEW_MS } from "../../protocol/routes";
import { signRequest } from "../../protocol/signing";
import { errorOf, startTestAgent, tempDir } from "./helpers";

const T0 = 1_800_000_000_000;
const SKEW = 30_000;

describe("replay cache: freshness by the signed timestamps, not the local clock", () => {
	// The agent's clock jumps forward (an NTP step, a VM resumed), then back.
	for (const jump of [5 * 60_000, 3_600_000, 2 * SKEW + 1]) {
		it(`a nonce forgotten while the clock ran ${jump} ms ahead is still refused when it comes back`, async () => {
			const cache = await ReplayCache.open(await tempDir(), { maxSkewMs: SKEW, now: T0 });
			expect(await cache.claim("n1", T0, T0)).toBe("fresh");
			expect(await cache.claim("n2", T0 + jump, T0 + jump)).toBe("fresh");
			// Back: n1's timestamp is within the skew of the local clock again.
			expect(await cache.claim("n1", T0, T0)).toBe("replayed");
		});
	}

	it("refuses a fresh nonce signed more than the window before the newest accepted timestamp", async () => {
		const cache = await ReplayCache.open(await tempDir(), { maxSkewMs: SKEW, now: T0 });
		expect(await cache.claim("a", T0 + 2 * SKEW, T0)).toBe("fresh");
		expect(await cache.claim("b", T0 - 1, T0)).toBe("replayed");
		// Within the window of the newest: a second signer a little behind is fine.
		expect(await cache.claim("c", T0 + 1, T0)).toBe("fresh");
	});

	it("keeps the newest timestamp across a restart", async () => {
		const dir = await tempDir();
		const first = await ReplayCache.open(dir, { maxSkewMs: SKEW, now: T0 });
		expect(await first.claim("a", T0 + 10 * SKEW, T0)).toBe("fresh");
		const second = await ReplayCache.open(dir, { maxSkewMs: SKEW, now: T0 });
		expect(await second.claim("b", T0, T0)).toBe("replayed");
	});

	it("reads a format-1 nonce file (older agents) and keeps its nonces", async () => {
		const dir = await tempDir();
		await writeFile(join(dir, NONCE_FILE), JSON.stringify({ format: 1, nonces: [["old", T0]] }));
		const cache = await ReplayCache.open(dir, { maxSkewMs: SKEW, now: T0 });
		expect(cache.lost).toBeNull();
		expect(await cache.claim("old", T0, T0)).toBe("replayed");
		expect(await cache.claim("new", T0, T0)).toBe("fresh");
	});
});

describe("replay cache: a missing nonce file after the first start fails closed", () => {
	it("the first start writes the marker and accepts requests", async () => {
		const dir = await tempDir();
		const cache = await ReplayCache.open(dir, { maxSkewMs: SKEW, now: T0 });
		expect(cache.lost).toBeNull();
		expect((await readdir(dir)).sort()).toEqual([NONCE_FILE, NONCE_MARKER_FILE].sort());
		expect(await cache.claim("n", T0 - 1, T0)).toBe("fresh");
	});

	it("deleted later: anything signed before the restart is refused, new requests pass, and the floor survives another restart", async () => {
		const dir = await tempDir();
		const first = await ReplayCache.open(dir, { maxSkewMs: SKEW, now: T0 });
		expect(await first.claim("n", T0, T0)).toBe("fresh");
		await rm(join(dir, NONCE_FILE));
		const second = await ReplayCache.open(dir, { maxSkewMs: SKEW, now: T0 + 1_000 });
		expect(second.lost).toBe("missing");
		expect(await second.claim("n", T0, T0 + 1_000)).toBe("replayed");
		expect(await second.claim("other", T0 + 999, T0 + 1_000)).toBe("replayed");
		// Restarted again before any request came: the floor was written at open.
		const third = await ReplayCache.open(dir, { maxSkewMs: SKEW, now: T0 + 2_000 });
		expect(await third.claim("n", T0, T0 + 2_000)).toBe("replayed");
		expect(await third.claim("fresh", T0 + 2_000, T0 + 2_000)).toBe("fresh");
	});
});

describe("replay attacks on a running agent", () => {
	it("a captured request replayed after the agent's clock jumped forward and back -> 401 replayed-nonce", async () => {
		const clock = { now: T0 };
		const t = await startTestAgent({ now: () => clock.now });
		const captured = await signRequest({
			method: "GET",
			path: "/v1/status",
			privateKey: t.keys.privateKey,
			audience: t.audience,
			now: T0,
		});
		expect((await t.send("GET", "/v1/status", { unsigned: true, headers: captured })).status).toBe(
			200,
		);
		clock.now = T0 + 10 * 60_000;
		expect((await t.send("GET", "/v1/status")).status).toBe(200);
		clock.now = T0 + 1_000;
		const res = await t.send("GET", "/v1/status", { unsigned: true, headers: captured });
		expect(await errorOf(res)).toMatchObject({ status: 401, code: "replayed-nonce" });
	});

	it("a captured request replayed after the nonce file was deleted and the agent restarted -> 401", async () => {
		const clock = { now: T0 };
		const first = await startTestAgent({ now: () => clock.now });
		const captured = await signRequest({
			method: "GET",
			path: "/v1/status",
			privateKey: first.keys.privateKey,
			audience: first.audience,
			now: T0,
		});
		expect(
			(await first.send("GET", "/v1/status", { unsigned: true, headers: captured })).status,
		).toBe(200);
		await first.agent.close();
		await rm(join(first.stateDir, NONCE_FILE));
		clock.now = T0 + 5_000;
		// The same watchdog key as before: only the nonce file is gone.
		const second = await startTestAgent({
			now: () => clock.now,
			stateDir: first.stateDir,
			config: { watchdogPublicKeys: [first.keys.publicKeyText] },
		});
		const res = await second.send("GET", "/v1/status", { unsigned: true, headers: captured });
		expect(await errorOf(res)).toMatchObject({ status: 401, code: "replayed-nonce" });
		expect(MAX_SKEW_MS).toBeGreaterThan(5_000);
		// New requests signed with that key still pass.
		expect((await second.send("GET", "/v1/status", { keys: first.keys })).status).toBe(200);
	});
});
