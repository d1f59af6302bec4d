// The agent's report on its own gateway: the classification table, the OpenClaw start sequence against a
// loopback stand-in and a fake systemctl, and status never waiting on a check.
import { describe, expect, it } from "vitest";
import {
	type Classified,
	classify,
	LocalGatewayMonitor,
	type ReadinessAnswer,
	type UnitEvidence,
} from "../../agent/src/local-gateway";
import { silentLogger } from "../../agent/src/log";
import type { CommandRequest, CommandRunner } from "../../agent/src/steps/run-command";
import { parseUnitShow } from "../../agent/src/unit-state";
import { StatusResponseSchema } from "../../protocol";
import { closedPortUrl, fakeGateway } from "./fake-gateway";
import { startTestAgent } from "./helpers";

const WINDOW = 180_000;
const refused: ReadinessAnswer = { kind: "refused", detail: "ECONNREFUSED" };
const timeout: ReadinessAnswer = { kind: "timeout", timeoutMs: 1000 };
const http = (status: number, failing: string[] | null, uptimeMs?: number): ReadinessAnswer => ({
	kind: "answered",
	status,
	failing,
	...(uptimeMs !== undefined ? { uptimeMs } : {}),
});
const unit = (activeState: string, uptimeMs?: number): UnitEvidence => ({
	known: true,
	activeState,
	subState: activeState === "active" ? "running" : "dead",
	...(uptimeMs !== undefined ? { uptimeMs } : {}),
});
const noUnit: UnitEvidence = { known: false, reason: "systemctl could not start" };

describe("classify: readiness answer x unit state", () => {
	const rows: [string, ReadinessAnswer, UnitEvidence, Classified["state"], string[]?][] = [
		["200 is ready whatever the unit says", http(200, []), unit("active", 5_000), "ready"],
		["200 with no unit known", http(200, null), noUnit, "ready"],
		// The restart sequence of OpenClaw 2026.9.6: refused ~9.5 s, then 503 startup-sidecars ~2.5 s.
		["refused, unit active 3 s", refused, unit("active", 3_000), "starting"],
		["refused, unit active 9 s", refused, unit("active", 9_000), "starting"],
		["refused, unit activating", refused, unit("activating"), "starting"],
		["timeout, unit activating", timeout, unit("activating"), "starting"],
		[
			"timeout, unit active 4 s (event loop busy starting)",
			timeout,
			unit("active", 4_000),
			"starting",
		],
		[
			"503 startup-sidecars, unit active 10 s",
			http(503, ["startup-sidecars"], 500),
			unit("active", 10_000),
			"starting",
			["startup-sidecars"],
		],
		[
			"503 startup-sidecars, unit unknown, gateway up 2 s",
			http(503, ["startup-sidecars"], 2_000),
			noUnit,
			"starting",
			["startup-sidecars"],
		],
		[
			"503 gateway-draining (in-process restart)",
			http(503, ["gateway-draining"], 900_000),
			unit("active", 900_000),
			"starting",
			["gateway-draining"],
		],
		[
			"503 startup-sidecars for longer than the start window",
			http(503, ["startup-sidecars"]),
			unit("active", WINDOW + 1),
			"not-ready",
			["startup-sidecars"],
		],
		[
			"503 startup-sidecars and a channel",
			http(503, ["startup-sidecars", "telegram"]),
			unit("active", 5_000),
			"not-ready",
			["startup-sidecars", "telegram"],
		],
		[
			"503 channel down",
			http(503, ["telegram"]),
			unit("active", 3_600_000),
			"not-ready",
			["telegram"],
		],
		["503 without detail", http(503, null), unit("active", 5_000), "not-ready"],
		["503 without detail, unit activating", http(503, null), unit("activating"), "starting"],
		["500 with an empty list", http(500, []), unit("active", 5_000), "not-ready"],
		["refused, unit inactive", refused, unit("inactive"), "stopped"],
		["refused, unit failed", refused, unit("failed"), "stopped"],
		["refused, unit deactivating", refused, unit("deactivating"), "stopped"],
		["refused, unit active past the window", refused, unit("active", WINDOW), "stopped"],
		["refused, unit unknown", refused, noUnit, "stopped"],
		["timeout, unit unknown", timeout, noUnit, "not-ready"],
		["timeout, unit active past the window", timeout, unit("active", WINDOW * 2), "not-ready"],
	];
	it.each(rows)("%s", (_name, answer, u, state, failing = []) => {
		const c = classify(answer, u, WINDOW);
		expect(c.state).toBe(state);
		expect(c.failing).toEqual(failing);
		expect(c.detail.length).toBeGreaterThan(0);
		expect(c.detail.length).toBeLessThanOrEqual(256);
	});

	// A young run that already answered ready proves no start in progress: what fails afterwards in
	// the same run is a crash or a hang (a hung gateway read as "starting" held failover for the whole
	// 180 s grace over dial-out), unless the unit is activating again or the gateway drains itself.
	const afterReady: [string, ReadinessAnswer, UnitEvidence, Classified["state"]][] = [
		["refused, unit active 3 s", refused, unit("active", 3_000), "stopped"],
		["refused, unit active 9 s", refused, unit("active", 9_000), "stopped"],
		["timeout, unit active 4 s", timeout, unit("active", 4_000), "not-ready"],
		["timeout, unit active 60 s", timeout, unit("active", 60_000), "not-ready"],
		[
			"503 startup-sidecars, unit active 10 s",
			http(503, ["startup-sidecars"]),
			unit("active", 10_000),
			"not-ready",
		],
		["refused, unit activating (a restart)", refused, unit("activating"), "starting"],
		["timeout, unit activating (a restart)", timeout, unit("activating"), "starting"],
		[
			"503 gateway-draining (in-process restart)",
			http(503, ["gateway-draining"]),
			unit("active", 5_000),
			"starting",
		],
		["200", http(200, []), unit("active", 5_000), "ready"],
		["refused, unit inactive", refused, unit("inactive"), "stopped"],
	];
	it.each(afterReady)("ready earlier in this run, then %s", (_name, answer, u, state) => {
		const c = classify(answer, u, WINDOW, { readyThisRun: true });
		expect(c.state).toBe(state);
		if (state !== "starting" && state !== "ready" && u.known && u.activeState === "active") {
			expect(c.detail).toContain("ready earlier in this run");
		}
	});

	it("uptime comes from the unit when known, else from the gateway's body", () => {
		expect(classify(http(200, [], 1_000), unit("active", 7_000), WINDOW).uptimeMs).toBe(7_000);
		expect(classify(http(200, [], 1_000), noUnit, WINDOW).uptimeMs).toBe(1_000);
		expect(classify(refused, unit("inactive"), WINDOW).uptimeMs).toBeUndefined();
	});
});

describe("parseUnitShow", () => {
	it("reads the state and the start of the current run", () => {
		const text =
			"LoadState=loaded\nActiveState=active\nSubState=running\nInactiveExitTimestampMonotonic=5000000\nActiveEnterTimestampMonotonic=5100000\n";
		expect(parseUnitShow(text, "gw")).toEqual({
			ok: true,
			unit: { activeState: "active", subState: "running", startedMonoUs: 5_000_000 },
		});
	});
	it("a unit systemd does not know is not 'stopped'", () => {
		const read = parseUnitShow("LoadState=not-found\nActiveState=inactive\n", "gw.service");
		expect(read).toEqual({ ok: false, reason: expect.stringContaining("no unit gw.service") });
	});
	it("0 timestamps mean never", () => {
		const read = parseUnitShow(
			"LoadState=loaded\nActiveState=inactive\nSubState=dead\nInactiveExitTimestampMonotonic=0\nActiveEnterTimestampMonotonic=0",
			"gw",
		);
		expect(read).toEqual({ ok: true, unit: { activeState: "inactive", subState: "dead" } });
	});
	it("output without ActiveState is no evidence", () => {
		expect(parseUnitShow("Failed to connect to bus", "gw").ok).toBe(false);
	});
});

/** A systemctl that answers `show` from a unit the test moves through its states. */
function fakeSystemctl(clock: { monoUs: number }) {
	const unitState = { activeState: "inactive", subState: "dead", startedMonoUs: 0 };
	const calls: CommandRequest[] = [];
	const run: CommandRunner = async (req) => {
		calls.push(req);
		const output = [
			"LoadState=loaded",
			`ActiveState=${unitState.activeState}`,
			`SubState=${unitState.subState}`,
			`InactiveExitTimestampMonotonic=${unitState.startedMonoUs}`,
			`ActiveEnterTimestampMonotonic=${unitState.startedMonoUs}`,
		].join("\n");
		return { kind: "exited", exitCode: 0, output, ms: 1 };
	};
	return {
		run,
		calls,
		/** `systemctl restart`: the unit is active again from now (Type=simple). */
		restart() {
			Object.assign(unitState, {
				activeState: "active",
				subState: "running",
				startedMonoUs: clock.monoUs,
			});
		},
		stop() {
			Object.assign(unitState, { activeState: "inactive", subState: "dead" });
		},
	};
}

function monitorFor(url: string, clock: { monoUs: number }, run: CommandRunner) {
	return new LocalGatewayMonitor({
		url,
		unit: { name: "openclaw-gateway.service", scope: "system" },
		intervalMs: 1_000,
		timeoutMs: 1_000,
		startWindowMs: WINDOW,
		now: () => 1_700_000_000_000 + clock.monoUs / 1000,
		monoNowUs: () => clock.monoUs,
		runCommand: run,
		log: silentLogger,
	});
}

describe("LocalGatewayMonitor against a stand-in OpenClaw and a fake systemctl", () => {
	it("follows a restart: refused and starting for the start, then ready with the unit's uptime", async () => {
		const clock = { monoUs: 1_000_000_000 };
		const gw = await fakeGateway("ready");
		const sd = fakeSystemctl(clock);
		sd.restart();
		clock.monoUs += 3_600_000_000; // up an hour
		const m = monitorFor(gw.url, clock, sd.run);
		expect(m.snapshot()).toBeNull();
		expect(await m.checkOnce()).toMatchObject({ state: "ready", uptimeMs: 3_600_000, status: 200 });

		// systemctl restart: the port refuses for ~9.5 s while the unit is already active.
		await gw.stop();
		sd.restart();
		const restartedAt = clock.monoUs;
		/** Moves the clock to `atMs` after the restart and checks. */
		const checkAt = (atMs: number) => {
			clock.monoUs = restartedAt + atMs * 1000;
			return m.checkOnce();
		};
		const seen: string[] = [];
		for (const atMs of [0, 2_000, 5_000, 9_000]) {
			const r = await checkAt(atMs);
			seen.push(r.state);
			expect(r.uptimeMs).toBe(atMs);
		}
		// Then /readyz answers 503 with only startup-sidecars failing for ~2.5 s.
		gw.mode = "starting";
		gw.uptimeMs = 100;
		await gw.start();
		for (const atMs of [9_600, 11_000, 12_000]) {
			const r = await checkAt(atMs);
			seen.push(r.state);
			expect(r.failing).toEqual(["startup-sidecars"]);
			expect(r.status).toBe(503);
		}
		gw.mode = "ready";
		const ready = await checkAt(12_500);
		seen.push(ready.state);
		expect(seen).toEqual([...Array(7).fill("starting"), "ready"]);
		expect(ready.uptimeMs).toBe(12_500);
		expect(m.snapshot()).toEqual(ready);
		expect(StatusResponseSchema.shape.local.parse(ready)).toEqual(ready);
	});

	it("a stop is 'stopped'; a port that never opens stops being 'starting' at the window's end", async () => {
		const clock = { monoUs: 5_000_000_000 };
		const sd = fakeSystemctl(clock);
		const m = monitorFor(await closedPortUrl(), clock, sd.run);
		sd.stop();
		expect(await m.checkOnce()).toMatchObject({ state: "stopped", failing: [] });
		sd.restart();
		clock.monoUs += 60_000_000;
		expect((await m.checkOnce()).state).toBe("starting");
		clock.monoUs += WINDOW * 1000;
		const late = await m.checkOnce();
		expect(late.state).toBe("stopped");
		expect(late.detail).toMatch(/connection refused/);
	});

	it("a gateway that was ready and then stops answering in the same young run is not 'starting'", async () => {
		const clock = { monoUs: 5_000_000_000 };
		const gw = await fakeGateway("ready");
		const sd = fakeSystemctl(clock);
		sd.restart();
		clock.monoUs += 2_000_000; // 2 s into the run: young
		const m = monitorFor(gw.url, clock, sd.run);
		expect((await m.checkOnce()).state).toBe("ready");
		// Dies 1 s later, the unit still active in the same run (a crash systemd has not noticed yet).
		await gw.stop();
		clock.monoUs += 1_000_000;
		const crashed = await m.checkOnce();
		expect(crashed.state).toBe("stopped");
		expect(crashed.detail).toMatch(/connection refused.*ready earlier in this run/);
		// systemctl restart: a new run, so its refusals are a start again.
		sd.restart();
		clock.monoUs += 1_000_000;
		expect((await m.checkOnce()).state).toBe("starting");
	});

	it("a failing channel is not-ready and names it", async () => {
		const clock = { monoUs: 5_000_000_000 };
		const gw = await fakeGateway("channel-down");
		const sd = fakeSystemctl(clock);
		sd.restart();
		clock.monoUs += 3_600_000_000;
		const r = await monitorFor(gw.url, clock, sd.run).checkOnce();
		expect(r).toMatchObject({ state: "not-ready", failing: ["telegram"], status: 503 });
		expect(r.detail).toContain("telegram");
	});

	it("reads the unit with argv only, through its scope, and not on every ready check", async () => {
		const clock = { monoUs: 5_000_000_000 };
		const gw = await fakeGateway("ready");
		const sd = fakeSystemctl(clock);
		sd.restart();
		const m = new LocalGatewayMonitor({
			url: gw.url,
			unit: { name: "openclaw-gateway.service", scope: "user" },
			intervalMs: 1_000,
			timeoutMs: 1_000,
			startWindowMs: WINDOW,
			now: Date.now,
			monoNowUs: () => clock.monoUs,
			runCommand: sd.run,
			log: silentLogger,
		});
		await m.checkOnce();
		clock.monoUs += 2_000_000;
		await m.checkOnce();
		expect(sd.calls).toHaveLength(1);
		expect(sd.calls[0]?.argv.slice(0, 4)).toEqual([
			"systemctl",
			"--user",
			"show",
			"openclaw-gateway.service",
		]);
		expect(sd.calls[0]?.argv).toContain("ActiveState");
		expect(sd.calls[0]?.timeoutMs).toBeGreaterThan(0);
		gw.mode = "starting";
		await m.checkOnce();
		await m.checkOnce();
		expect(sd.calls).toHaveLength(3); // not ready: the unit is read on every check
	});

	it("without systemctl the gateway's own uptime decides 'starting'", async () => {
		const gw = await fakeGateway("starting");
		gw.uptimeMs = 1_500;
		const missing: CommandRunner = async () => ({
			kind: "spawn-failed",
			error: "program not found: systemctl",
			output: "",
			ms: 0,
		});
		const r = await monitorFor(gw.url, { monoUs: 1 }, missing).checkOnce();
		expect(r).toMatchObject({ state: "starting", uptimeMs: 1_500 });
	});
});

describe("status carries the cached report", () => {
	it("reports local and never waits on a check in progress", async () => {
		const gw = await fakeGateway("hang");
		const t = await startTestAgent({
			config: { localReadyUrl: gw.url, localProbe: { timeoutMs: 30_000 } },
			io: {
				systemctl: async () => ({
					kind: "exited",
					exitCode: 0,
					output: "ActiveState=active",
					ms: 1,
				}),
			},
		});
		const pending = t.agent.local.checkOnce(); // hangs on the gateway for up to 30 s
		const started = performance.now();
		// gatewayActive still makes its own 1 s probe; the hanging local check adds nothing to it.
		const res = await t.send("GET", "/v1/status");
		expect(performance.now() - started).toBeLessThan(5_000);
		const body = StatusResponseSchema.parse(await res.json());
		expect(body.local).toBeNull();
		expect(body.maintenanceUntil).toBeNull();
		t.agent.local.stop(); // aborts the hanging check
		expect((await pending).state).not.toBe("ready");
	});

	it("reports the last check", async () => {
		const gw = await fakeGateway("channel-down");
		const t = await startTestAgent({
			config: { localReadyUrl: gw.url },
			io: {
				systemctl: async () => ({
					kind: "exited",
					exitCode: 0,
					output: "LoadState=loaded\nActiveState=active\nSubState=running",
					ms: 1,
				}),
			},
		});
		await t.agent.local.checkOnce();
		const body = StatusResponseSchema.parse(await (await t.send("GET", "/v1/status")).json());
		expect(body.local).toMatchObject({ state: "not-ready", failing: ["telegram"], status: 503 });
	});
});
