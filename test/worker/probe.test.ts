import { describe, expect, it } from "vitest";
import { MAX_BODY_BYTES, probeHttp, readBounded } from "../../worker/src/probe";
import { readyUrl, setGateway, testEnv } from "./support/watchdog-harness";

const base = { fetch, timeoutMs: 1_000, expectStatus: 200, now: () => performance.now() };

describe("probeHttp against a loopback gateway (real fetch from workerd)", () => {
	it("reports a ready gateway with its status", async () => {
		await setGateway("probe-up", "up");
		const r = await probeHttp(readyUrl("probe-up"), base);
		expect(r).toMatchObject({ ok: true, status: 200 });
		expect(r.ms).toBeGreaterThanOrEqual(0);
	});

	it("reports 503 as http-status with the code", async () => {
		await setGateway("probe-503", "not-ready");
		const r = await probeHttp(readyUrl("probe-503"), base);
		expect(r).toMatchObject({ ok: false, reason: "http-status", status: 503 });
		expect(r.ok ? "" : r.detail).toContain("expected HTTP 200, got 503");
	});

	it("accepts a non-200 status when that is what is expected", async () => {
		await setGateway("probe-expect", "not-ready");
		const r = await probeHttp(readyUrl("probe-expect"), { ...base, expectStatus: 503 });
		expect(r).toMatchObject({ ok: true, status: 503 });
	});

	it("checks the body when expectBody is set", async () => {
		await setGateway("probe-body", "wrong-body");
		const bad = await probeHttp(readyUrl("probe-body"), { ...base, expectBody: '"ready":true' });
		expect(bad).toMatchObject({ ok: false, reason: "body-mismatch", status: 200 });
		await setGateway("probe-body", "up");
		const good = await probeHttp(readyUrl("probe-body"), { ...base, expectBody: '"ready":true' });
		expect(good).toMatchObject({ ok: true, status: 200 });
	});

	it("times out on a slow gateway", async () => {
		await setGateway("probe-slow", "slow", { delayMs: 10_000 });
		const r = await probeHttp(readyUrl("probe-slow"), { ...base, timeoutMs: 200 });
		expect(r).toMatchObject({ ok: false, reason: "timeout" });
		expect(r.ok ? "" : r.detail).toContain("200 ms");
	});

	it("ends at the caller's deadline and says so", async () => {
		await setGateway("probe-deadline", "slow", { delayMs: 10_000 });
		const r = await probeHttp(readyUrl("probe-deadline"), {
			...base,
			timeoutMs: 5_000,
			signal: AbortSignal.timeout(100),
		});
		expect(r).toMatchObject({ ok: false, reason: "timeout" });
		expect(r.ok ? "" : r.detail).toContain("deadline");
	});

	it("reports a dropped connection as a connect error", async () => {
		await setGateway("probe-reset", "reset");
		const r = await probeHttp(readyUrl("probe-reset"), base);
		expect(r).toMatchObject({ ok: false, reason: "connect-error" });
		expect(r.ok ? undefined : r.status).toBeUndefined();
	});

	it("reports a refused connection as a connect error", async () => {
		const r = await probeHttp(`${testEnv.REFUSED_BASE}/readyz`, base);
		expect(r).toMatchObject({ ok: false, reason: "connect-error" });
	});

	it("does not follow a redirect: it is an http-status naming the target", async () => {
		await setGateway("probe-redirect", "redirect");
		const r = await probeHttp(readyUrl("probe-redirect"), base);
		expect(r).toMatchObject({ ok: false, reason: "http-status", status: 302 });
		expect(r.ok ? "" : r.detail).toContain("https://login.example.test/");
	});
});

describe("probeHttp with an injected fetch", () => {
	it("turns a throwing fetch into a connect error, never a throw", async () => {
		const r = await probeHttp("https://primary.invalid/readyz", {
			...base,
			fetch: async () => {
				throw new TypeError("Network connection lost.");
			},
		});
		expect(r).toMatchObject({
			ok: false,
			reason: "connect-error",
			detail: "Network connection lost.",
		});
	});

	it("reads at most MAX_BODY_BYTES of a huge body before matching", async () => {
		let pulled = 0;
		const chunk = new Uint8Array(16 * 1024).fill(0x61); // "a"
		const endless = new ReadableStream<Uint8Array>({
			pull(c) {
				pulled += chunk.byteLength;
				c.enqueue(chunk);
			},
		});
		const r = await probeHttp("https://primary.invalid/readyz", {
			...base,
			expectBody: "ready",
			fetch: async () => new Response(endless, { status: 200 }),
		});
		expect(r).toMatchObject({ ok: false, reason: "body-mismatch" });
		// The stream may be pulled a chunk or two ahead of the reader, never the whole (endless) body.
		expect(pulled).toBeLessThanOrEqual(MAX_BODY_BYTES + 3 * chunk.byteLength);
	});

	it("readBounded truncates to the limit", async () => {
		const text = await readBounded(new Response("x".repeat(100)).body, 10);
		expect(text).toBe("x".repeat(10));
		expect(await readBounded(null, 10)).toBe("");
	});
});
