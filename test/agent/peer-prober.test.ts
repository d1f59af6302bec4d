// The standby's probe of the primary and the gatewayActive check, against real loopback servers.
import { describe, expect, it } from "vitest";
import { silentLogger } from "../../agent/src/log";
import { PeerProber } from "../../agent/src/peer-prober";
import type { StatusResponse } from "../../protocol";
import { closedPortUrl, fakeGateway } from "./fake-gateway";
import { onCleanup, startTestAgent } from "./helpers";

function prober(url: string, now: () => number = Date.now, timeoutMs = 300) {
	const p = new PeerProber({ url, intervalMs: 1_000, timeoutMs, now, log: silentLogger });
	onCleanup(async () => p.stop());
	return p;
}

describe("peer prober", () => {
	it("reports ok with latency, and counts consecutive successes and failures", async () => {
		const gw = await fakeGateway("ready");
		const p = prober(gw.url);
		expect(p.snapshot(Date.now())).toBeNull();
		expect(await p.probeOnce()).toMatchObject({
			ok: true,
			status: 200,
			consecutiveSuccesses: 1,
			consecutiveFailures: 0,
		});
		expect(await p.probeOnce()).toMatchObject({ ok: true, consecutiveSuccesses: 2 });
		gw.mode = "not-ready";
		const failed = await p.probeOnce();
		expect(failed).toMatchObject({
			ok: false,
			reason: "http-status",
			status: 503,
			consecutiveFailures: 1,
			consecutiveSuccesses: 0,
		});
		expect(failed.latencyMs).toBeGreaterThanOrEqual(0);
		expect(await p.probeOnce()).toMatchObject({ consecutiveFailures: 2 });
		gw.mode = "ready";
		expect(await p.probeOnce()).toMatchObject({
			ok: true,
			consecutiveSuccesses: 1,
			consecutiveFailures: 0,
		});
	});

	it("a primary that never answers -> timeout", async () => {
		const gw = await fakeGateway("hang");
		expect(await prober(gw.url, Date.now, 200).probeOnce()).toMatchObject({
			ok: false,
			reason: "timeout",
		});
	});

	it("nothing listening -> connect-error", async () => {
		expect(await prober(await closedPortUrl()).probeOnce()).toMatchObject({
			ok: false,
			reason: "connect-error",
		});
	});

	it("ageMs is measured on the agent's clock", async () => {
		let now = 1_000_000;
		const gw = await fakeGateway("ready");
		const p = prober(gw.url, () => now);
		await p.probeOnce();
		now += 4_321;
		expect(p.snapshot(now)).toMatchObject({ checkedAt: 1_000_000, ageMs: 4_321 });
	});

	it("start() keeps probing on its interval until stop()", async () => {
		const gw = await fakeGateway("ready");
		const p = new PeerProber({
			url: gw.url,
			intervalMs: 200,
			timeoutMs: 200,
			now: Date.now,
			log: silentLogger,
		});
		onCleanup(async () => p.stop());
		p.start();
		while ((p.snapshot(Date.now())?.consecutiveSuccesses ?? 0) < 3)
			await new Promise((r) => setTimeout(r, 50));
		p.stop();
		// A probe already in flight may still land; after that, nothing more arrives.
		await new Promise((r) => setTimeout(r, 300));
		const hits = gw.hits;
		await new Promise((r) => setTimeout(r, 600));
		expect(gw.hits).toBe(hits);
	});
});

describe("status over the signed API", () => {
	it("carries the peer probe and whether the local gateway is ready", async () => {
		const primary = await fakeGateway("not-ready");
		const local = await fakeGateway("ready");
		const t = await startTestAgent({
			config: { primaryReadyUrl: primary.url, localReadyUrl: local.url },
		});
		const before = (await (await t.send("GET", "/v1/status")).json()) as StatusResponse;
		expect(before.peer).toBeNull();
		expect(before.gatewayActive).toBe(true);
		await t.agent.prober?.probeOnce();
		local.mode = "not-ready";
		const after = (await (await t.send("GET", "/v1/status")).json()) as StatusResponse;
		expect(after.peer).toMatchObject({
			ok: false,
			reason: "http-status",
			status: 503,
			consecutiveFailures: 1,
		});
		expect(after.gatewayActive).toBe(false);
	});

	it("peer is null on an agent without a primary probe", async () => {
		const t = await startTestAgent({ config: { role: "primary" } });
		expect(t.agent.prober).toBeNull();
		const status = (await (await t.send("GET", "/v1/status")).json()) as StatusResponse;
		expect(status).toMatchObject({ role: "primary", peer: null });
	});
});

describe("peer prober: the shared probe spec (protocol/probe-spec.ts)", () => {
	async function answering(status: number, body: string) {
		const { createServer } = await import("node:http");
		const server = createServer((_req, res) => res.writeHead(status).end(body));
		await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
		onCleanup(async () => new Promise<void>((r) => server.close(() => r())));
		const port = (server.address() as { port: number }).port;
		return `http://127.0.0.1:${port}/readyz`;
	}
	it("a 200 without OpenClaw's body is a body mismatch, as the Worker sees it", async () => {
		const p = prober(await answering(200, "<html>captive</html>"));
		expect(await p.probeOnce()).toMatchObject({ ok: false, reason: "body-mismatch", status: 200 });
	});
	it.each([403, 404, 302])(
		"HTTP %i is reported with its status (refused or misdirected)",
		async (status) => {
			const p = prober(await answering(status, "no"));
			expect(await p.probeOnce()).toMatchObject({ ok: false, reason: "http-status", status });
		},
	);
});
