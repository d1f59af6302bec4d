// End to end over dial-out: agents keep a WebSocket to the real Worker, which has no agent URL at all. Failover and
// failback, a primary serving with every inbound path cut, an isolated primary fencing itself first (also across a
// restart of its agent and across a Worker redeploy that shortens the lease), a Worker redeploy.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LEASE_RECORD_FILE } from "../../agent/src/lease-record";
import { waitFor } from "../harness/ports";
import { intervals, kinds, recordTiming, sleep, startLab } from "./support";

type Lab = Awaited<ReturnType<typeof startLab>>;

/** Cuts everything to and from the primary (the Worker's probe, the standby's, its agent's uplink, the cross route); its gateway still runs. */
function isolatePrimary(lab: Lab): void {
	lab.proxy.break("blackhole");
	lab.standbyRoute.break("refuse");
	lab.uplinks?.primary.break("refuse");
	lab.crossRoute?.break("blackhole");
}

/**
 * The primary's fence stop and the standby's gateway start since `t0` (ms), once both have reached the
 * control server (from processes the agents spawn). Throws if both have not come within `timeoutMs`.
 */
async function fenceAndStart(lab: Lab, t0: number, timeoutMs: number) {
	const call = (name: string) => lab.control.timeline.find((c) => c.call === name && c.at >= t0);
	await waitFor(
		"both gateway calls",
		() => call("stop primary") !== undefined && call("start standby") !== undefined,
		timeoutMs,
	);
	return { fenced: call("stop primary"), started: call("start standby") };
}

type Conn = { connected: boolean; frames: number; lastClose: string | null };
type WithConnections = { connections?: { primary?: Conn; standby?: Conn } };

describe("dial-out transport", () => {
	it("hard-down: promotes and fails back over the agents' own connections; messages per tick counted", async () => {
		const lab = await startLab({ transport: "dial-out" });
		// No agent URL anywhere in the Worker's config: only the sockets the agents opened reach them.
		const before = (await lab.pair()) as unknown as WithConnections;
		const frames0 =
			(before.connections?.standby?.frames ?? 0) + (before.connections?.primary?.frames ?? 0);
		const tick0 = Date.now();
		await sleep(10 * lab.interval);
		const mid = (await lab.pair()) as unknown as WithConnections;
		const frames1 =
			(mid.connections?.standby?.frames ?? 0) + (mid.connections?.primary?.frames ?? 0);
		const perTick = (frames1 - frames0) / ((Date.now() - tick0) / lab.interval);
		recordTiming("dial-out", "incoming messages per tick (both agents)", perTick);
		// Each agent pushes every half interval: about 4 a tick for two agents, and never a flood.
		expect(perTick).toBeGreaterThan(1);
		expect(perTick).toBeLessThan(8);

		const t0 = Date.now();
		await lab.primaryGw.stop();
		const promoting = await lab.waitForEvent("promoting", t0, 30 * lab.interval);
		const promoted = await lab.waitForEvent("promoted", t0, 40 * lab.interval);
		recordTiming("dial-out hard-down", "promote decided", intervals(promoting.at - t0, lab));
		recordTiming("dial-out hard-down", "standby ready", intervals(promoted.at - t0, lab));
		expect(lab.standbyGw.running).toBe(true);

		const back = Date.now();
		await lab.primaryGw.start();
		await lab.waitForEvent("demoted", back, 40 * lab.interval);
		expect((await lab.pair()).state).toBe("primary-active");
		expect(lab.standbyGw.running).toBe(false);
		expect(kinds(await lab.events())).toEqual(
			expect.arrayContaining(["promoting", "promoted", "demoting", "demoted"]),
		);
		await lab.stop();
	});

	it("primary serving, every inbound path to it cut: its agent's own 'ready' holds the pair, no promotion", async () => {
		const lab = await startLab({ transport: "dial-out" });
		const t0 = Date.now();
		// The Worker's probe and the standby's tailnet probe both fail; the primary keeps serving and
		// its agent, dialing out, keeps saying so.
		lab.proxy.break("blackhole");
		lab.standbyRoute.break("refuse");
		await lab.waitForEvent("suspect-partition", t0, 20 * lab.interval);
		await sleep(8 * lab.interval);
		const events = await lab.events();
		expect(kinds(events)).not.toContain("promoting");
		const suspect = events.find((e) => e.kind === "suspect-partition");
		expect(suspect?.summary).toMatch(/own agent reports its gateway ready/);
		expect(lab.primaryGw.running).toBe(true);
		expect(lab.standbyGw.running).toBe(false);
		await lab.stop();
	});

	it("primary isolated from the watchdog and the standby: it fences itself before the standby's gateway starts", async () => {
		const lab = await startLab({ transport: "dial-out" });
		const t0 = Date.now();
		// Cut everything to and from the primary; its gateway still runs.
		isolatePrimary(lab);
		await lab.waitForEvent("promoted", t0, 60 * lab.interval);
		// Both calls reach the control server from processes the agents spawn: read them once both are in.
		const { fenced, started } = await fenceAndStart(lab, t0, 10 * lab.interval);
		expect(fenced, "the primary's fence stopped its gateway").toBeDefined();
		expect(started).toBeDefined();
		recordTiming("isolated primary", "fenced (s after the cut)", ((fenced?.at ?? 0) - t0) / 1000);
		recordTiming(
			"isolated primary",
			"standby started (s after the cut)",
			((started?.at ?? 0) - t0) / 1000,
		);
		expect(fenced?.at ?? Number.POSITIVE_INFINITY).toBeLessThan(started?.at ?? 0);
		expect(lab.primaryGw.running).toBe(false);
		await lab.stop();
	});

	it("fenced primary back in reach after a failover and a redeploy with a much longer lease: leases naming the standby keep its gateway stopped", {
		timeout: 240_000,
	}, async () => {
		// Manual failback: nothing legitimately names the primary again, so a gateway start can only come
		// from its fence. The old fence took the 300 s length of a lease naming the standby as its own and
		// started the primary beside the promoted standby. 300 s: the agents' redial backoff after a long
		// cut takes up to about a minute (seen: reconnected 23 to 64 s after the cut).
		const lab = await startLab({ transport: "dial-out", failback: "manual" });
		const t0 = Date.now();
		isolatePrimary(lab);
		await lab.waitForEvent("promoted", t0, 60 * lab.interval);
		await waitFor(
			"the fence's stop",
			() => lab.control.timeline.some((c) => c.call === "stop primary" && c.at >= t0),
			10 * lab.interval,
		);
		const config = JSON.parse(lab.worker.getVar("WATCHDOG_CONFIG") ?? "{}") as {
			pairs: Record<string, unknown>[];
		};
		await lab.worker.stop();
		lab.worker.setVar(
			"WATCHDOG_CONFIG",
			JSON.stringify({ pairs: config.pairs.map((p) => ({ ...p, leaseSeconds: 300 })) }),
		);
		await lab.worker.start();
		lab.proxy.heal();
		lab.standbyRoute.heal();
		lab.uplinks?.primary.heal();
		lab.crossRoute?.heal();
		const healed = Date.now();
		await lab.waitForDialOut(60 * lab.interval);
		const reconnected = Date.now();
		// Each tick now carries a 300 s lease naming the standby to the primary's agent.
		await lab.waitForTicks(10);
		recordTiming(
			"fenced primary back in reach",
			"reconnected (s after the cut)",
			(reconnected - t0) / 1000,
		);
		recordTiming(
			"fenced primary back in reach",
			"watched until (s after the cut)",
			(Date.now() - t0) / 1000,
		);
		expect(
			reconnected - t0,
			"the primary reconnected while a 300 s lease from its last one would still run",
		).toBeLessThan(280_000);
		expect(healed).toBeGreaterThan(t0);
		expect(lab.control.timeline.filter((c) => c.call === "start primary" && c.at >= t0)).toEqual(
			[],
		);
		expect(lab.primaryGw.running).toBe(false);
		expect(lab.standbyGw.running).toBe(true);
		await lab.stop();
	});

	it("primary's agent crashes and restarts while isolated: it fences by the lease it recorded, before the standby's gateway starts", async () => {
		const lab = await startLab({ transport: "dial-out" });
		const agent = lab.primaryAgent;
		if (agent === undefined) throw new Error("the dial-out lab has a primary agent");
		// The primary has kept a lease naming it (written at once, then at most a third of a lease behind).
		const record = join(lab.root, "primary-state", LEASE_RECORD_FILE);
		await waitFor("the primary's lease record", () => existsSync(record), 20 * lab.interval);
		const t0 = Date.now();
		isolatePrimary(lab);
		// A crash (SIGKILL: no flush on the way out) and systemd's restart, still cut off. Counting a
		// full lease from this start (the old fence: 30 s, no lease having arrived) would fence long after
		// the watchdog's wait (lease 3 s + margin 5 s from the last lease it sent) has run out.
		await agent.kill();
		await agent.start();
		const restarted = Date.now();
		await lab.waitForEvent("promoted", t0, 60 * lab.interval);
		const { fenced, started } = await fenceAndStart(lab, t0, 10 * lab.interval);
		recordTiming(
			"restarted isolated primary",
			"restarted (s after the cut)",
			(restarted - t0) / 1000,
		);
		recordTiming(
			"restarted isolated primary",
			"fenced (s after the cut)",
			((fenced?.at ?? 0) - t0) / 1000,
		);
		recordTiming(
			"restarted isolated primary",
			"standby started (s after the cut)",
			((started?.at ?? 0) - t0) / 1000,
		);
		expect(
			fenced?.at ?? 0,
			"the restarted agent's fence stopped the gateway",
		).toBeGreaterThanOrEqual(restarted - lab.interval);
		expect(fenced?.at ?? Number.POSITIVE_INFINITY).toBeLessThan(started?.at ?? 0);
		expect(
			agent.log.some((l) => l.includes("counting from the lease recorded before this start")),
		).toBe(true);
		expect(lab.primaryGw.running).toBe(false);
		await lab.stop();
	});

	it("Worker redeploy that shortens the lease, primary isolated meanwhile: it fences before the standby's gateway starts", {
		timeout: 240_000,
	}, async () => {
		// 60 s leases, then a deploy of 3 s ones. The primary's agent fences 60 s after the last lease
		// it kept; a Worker that assumed the new length (or counted the 30 s default from its decision,
		// having forgotten when the last lease went out) would start the standby long before that.
		const lab = await startLab({ transport: "dial-out", pairExtra: { leaseSeconds: 60 } });
		const record = join(lab.root, "primary-state", LEASE_RECORD_FILE);
		await waitFor("the primary's lease record", () => existsSync(record), 20 * lab.interval);
		const config = JSON.parse(lab.worker.getVar("WATCHDOG_CONFIG") ?? "{}") as {
			pairs: Record<string, unknown>[];
		};
		await lab.worker.stop();
		const t0 = Date.now();
		isolatePrimary(lab);
		lab.worker.setVar(
			"WATCHDOG_CONFIG",
			JSON.stringify({ pairs: config.pairs.map((p) => ({ ...p, leaseSeconds: 3 })) }),
		);
		await lab.worker.start();
		const redeployed = Date.now();
		await lab.worker.scheduled();
		await lab.waitForEvent("promoted", t0, 150 * lab.interval);
		// The fence may come well after a promote that went out too early: wait for it, then compare.
		const { fenced, started } = await fenceAndStart(lab, t0, 40 * lab.interval);
		recordTiming(
			"lease shortened 60 -> 3 s",
			"redeployed (s after the cut)",
			(redeployed - t0) / 1000,
		);
		recordTiming(
			"lease shortened 60 -> 3 s",
			"fenced (s after the cut)",
			((fenced?.at ?? 0) - t0) / 1000,
		);
		recordTiming(
			"lease shortened 60 -> 3 s",
			"standby started (s after the cut)",
			((started?.at ?? 0) - t0) / 1000,
		);
		expect(
			fenced?.at ?? Number.POSITIVE_INFINITY,
			"the primary's fence stopped its gateway before the standby's started",
		).toBeLessThan(started?.at ?? 0);
		expect(lab.primaryGw.running).toBe(false);
		await lab.stop();
	});

	it("Worker redeploy mid-promotion: every socket drops, the agents redial, and the promote runs once", async () => {
		const lab = await startLab({ transport: "dial-out" });
		const t0 = Date.now();
		// A slow standby start keeps the promote running while the Worker goes away.
		lab.control.startDelayMs = 4 * lab.interval;
		await lab.primaryGw.stop();
		await lab.waitForEvent("promoting", t0, 30 * lab.interval);
		await sleep(lab.interval);
		await lab.worker.stop();
		await lab.worker.start();
		await lab.worker.scheduled();
		await lab.waitForEvent("promoted", t0, 60 * lab.interval);
		const starts = lab.control.calls.filter((c) => c === "start standby");
		expect(starts).toEqual(["start standby"]);
		expect(lab.standbyGw.running).toBe(true);
		await lab.waitForDialOut();
		await lab.stop();
	});
});
