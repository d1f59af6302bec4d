// Only a lease naming the primary active moves its fence: through the running agent (agent.ts wiring, fencing.ts, lease-record.ts).

import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { LEASE_RECORD_FILE, type LeaseRecord } from "../../agent/src/lease-record";
import { type Role, signLease } from "../../protocol";
import { listenLoopback } from "../harness/ports";
import {
	fakeRunner,
	startTestAgent,
	TEST_PAIR,
	type TestAgent,
	tempDir,
	useSilentStandby,
	watchdogKeys,
} from "./helpers";

const T = 1_800_000_000_000;
/** A row probes a silent standby a few times, each waiting out the fence's 0.8 s probe deadline. */
const ROW_TIMEOUT_MS = 20_000;

/** A standby host that never answers: the fence's probe times out, so this primary is isolated. */
const silentStandby = useSilentStandby();

interface Primary {
	t: TestAgent;
	clock: { now: number };
	dir: string;
	/** The fence steps run so far: "systemd-stop" when it fenced, "systemd-start" when it lifted it. */
	fenceSteps: () => string[];
	/** Offers a lease issued now; the watchdog bumps the term when it names another side. */
	grant: (active: Role | null, leaseSeconds: number, term?: number) => Promise<void>;
	check: () => Promise<void>;
}

async function startPrimary(dir: string, at: number): Promise<Primary> {
	const clock = { now: at };
	const runner = fakeRunner();
	const t = await startTestAgent({
		stateDir: dir,
		now: () => clock.now,
		runStep: runner.runStep,
		config: { role: "primary", fencing: { standbyUrl: silentStandby() } },
		io: { startFence: false },
	});
	const keys = await watchdogKeys();
	return {
		t,
		clock,
		dir,
		fenceSteps: () => runner.calls.filter((c) => c.action === "fence").map((c) => c.step.type),
		grant: async (active, leaseSeconds, term = 1) => {
			const text = await signLease(
				{ pair: TEST_PAIR, active, term, issuedAt: clock.now, leaseSeconds },
				keys.privateKey,
			);
			const offered = await t.agent.lease.offer(text);
			if (offered.kind !== "kept") throw new Error(`lease not kept: ${JSON.stringify(offered)}`);
		},
		check: async () => {
			const fence = t.agent.fence;
			if (fence === null) throw new Error("no fence");
			await fence.check();
		},
	};
}

const onDisk = async (dir: string) =>
	JSON.parse(await readFile(join(dir, LEASE_RECORD_FILE), "utf8")) as LeaseRecord;

/** A primary that held a 30 s lease naming it at T and was fenced 31 s later, cut off from both. */
async function fencedPrimary(): Promise<Primary> {
	const p = await startPrimary(await tempDir(), T - 60_000);
	p.clock.now = T;
	await p.grant("primary", 30);
	p.clock.now = T + 31_000;
	await p.check();
	expect(p.fenceSteps()).toEqual(["systemd-stop"]);
	return p;
}

describe("a fenced primary is lifted only by a lease naming it active", () => {
	// [what the watchdog names, the later lease's length (s), its term, whether the gateway starts again]
	const rows: [string, boolean, Role | null, number, number][] = [
		["the standby (promoted), a much longer lease (a redeploy)", false, "standby", 300, 2],
		["the standby, the same length", false, "standby", 30, 2],
		["the standby, a shorter length", false, "standby", 10, 2],
		["nobody (promoting), a much longer lease", false, null, 300, 1],
		["nobody, the same length", false, null, 30, 1],
		["this primary, the same length", true, "primary", 30, 1],
		["this primary, a longer length", true, "primary", 300, 1],
		["this primary in a later term (a failback)", true, "primary", 30, 3],
	];
	it.each(rows)(
		"later leases naming %s: gateway started again: %s",
		async (_what, unfences, active, leaseSeconds, term) => {
			const p = await fencedPrimary();
			// Leases keep arriving once the primary reaches the Worker again, some checks apart.
			for (const dt of [1_000, 5_000, 5_000]) {
				p.clock.now += dt;
				await p.grant(active, leaseSeconds, term);
				await p.check();
			}
			expect(p.fenceSteps()).toEqual(
				unfences ? ["systemd-stop", "systemd-start"] : ["systemd-stop"],
			);
			expect(p.t.agent.fence?.state.fenced === null).toBe(unfences);
		},
		ROW_TIMEOUT_MS,
	);

	it(
		"a lease naming the standby after one naming it leaves the gateway stopped, until one names it again",
		async () => {
			const p = await fencedPrimary();
			p.clock.now += 1_000;
			await p.grant("standby", 300, 2);
			await p.check();
			p.clock.now += 100_000;
			await p.check();
			expect(p.fenceSteps()).toEqual(["systemd-stop"]);
			await p.grant("primary", 30, 3);
			await p.check();
			expect(p.fenceSteps()).toEqual(["systemd-stop", "systemd-start"]);
		},
		ROW_TIMEOUT_MS,
	);
});

describe("a serving primary fences by its own lease, whatever names another side later", () => {
	// The last lease naming it (30 s) is 25 s old when the later one arrives; the standby does not answer.
	const rows: [string, Role | null, number, number][] = [
		["the standby, 300 s", "standby", 300, 2],
		["the standby, 5 s", "standby", 5, 2],
		["nobody, 300 s", null, 300, 1],
		["nobody, 10 s", null, 10, 1],
	];
	it.each(rows)(
		"a lease naming %s at 25 s: fenced at 30 s, not before",
		async (_what, active, leaseSeconds, term) => {
			const p = await startPrimary(await tempDir(), T);
			await p.grant("primary", 30);
			p.clock.now = T + 25_000;
			await p.grant(active, leaseSeconds, term);
			await p.check();
			p.clock.now = T + 29_500;
			await p.check();
			expect(p.fenceSteps(), "not yet at 29.5 s").toEqual([]);
			p.clock.now = T + 30_000;
			await p.check();
			expect(p.fenceSteps(), "fenced at 30 s").toEqual(["systemd-stop"]);
			expect(p.t.agent.fence?.leaseRunsOutAt()).toBe(T + 30_000);
		},
		ROW_TIMEOUT_MS,
	);
});

describe("the lease record holds only facts of leases naming this side", () => {
	it.each([
		["nobody, 300 s", null, 300, 1],
		["nobody, 10 s", null, 10, 1],
		["the standby, 300 s", "standby", 300, 2],
	] as const)(
		"a lease naming %s after a 30 s one naming it: the record keeps 30 s, and a restart fences by it",
		async (_what, active, leaseSeconds, term) => {
			const dir = await tempDir();
			const before = await startPrimary(dir, T);
			await before.grant("primary", 30);
			before.clock.now = T + 2_000;
			await before.grant(active, leaseSeconds, term);
			await before.t.agent.close();
			expect(await onDisk(dir)).toEqual({
				format: 1,
				pair: TEST_PAIR,
				side: "primary",
				arrivedAt: T,
				leaseSeconds: 30,
			});
			const after = await startPrimary(dir, T + 10_000);
			expect(after.t.agent.fence?.leaseRunsOutAt()).toBe(T + 30_000);
			after.clock.now = T + 29_500;
			await after.check();
			expect(after.fenceSteps()).toEqual([]);
			after.clock.now = T + 30_000;
			await after.check();
			expect(after.fenceSteps()).toEqual(["systemd-stop"]);
		},
		ROW_TIMEOUT_MS,
	);
});
