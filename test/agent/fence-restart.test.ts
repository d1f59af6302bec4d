// A primary's agent restarted while cut off fences when the watchdog's lease runs out, not a full lease after its start.

import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { LEASE_RECORD_FILE, type LeaseRecord } from "../../agent/src/lease-record";
import { type Role, signLease } from "../../protocol";
import { listenLoopback, waitFor } from "../harness/ports";
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
/** Each check that gets as far as probing waits out the fence's 0.8 s probe deadline on a silent host. */
const ROW_TIMEOUT_MS = 20_000;

/** A standby host that never answers: the fence's probe times out, so this primary is isolated. */
const silentStandby = useSilentStandby();

interface Restart {
	t: TestAgent;
	clock: { now: number };
	/** The fence steps run so far ("systemd-stop" when it fenced). */
	fenceSteps: () => string[];
}

async function startPrimary(
	stateDir: string,
	at: number,
	role: Role = "primary",
): Promise<Restart> {
	const clock = { now: at };
	const runner = fakeRunner();
	const t = await startTestAgent({
		stateDir,
		now: () => clock.now,
		runStep: runner.runStep,
		config: { role, fencing: { standbyUrl: silentStandby() } },
		io: { startFence: false },
	});
	return {
		t,
		clock,
		fenceSteps: () => runner.calls.filter((c) => c.action === "fence").map((c) => c.step.type),
	};
}

/** The first time (ms after `from`) a check finds the fence stopping the gateway, probing near `expectMs`. */
async function expectFencesAt(r: Restart, from: number, expectMs: number): Promise<void> {
	const fence = r.t.agent.fence;
	if (fence === null) throw new Error("no fence");
	if (expectMs > 0) {
		r.clock.now = from + expectMs - 500;
		await fence.check();
		expect(r.fenceSteps(), `not yet at ${expectMs - 500} ms`).toEqual([]);
	}
	r.clock.now = from + expectMs;
	await fence.check();
	expect(r.fenceSteps(), `fenced at ${expectMs} ms`).toEqual(["systemd-stop"]);
}

const record = (over: Partial<LeaseRecord> = {}): string =>
	JSON.stringify({
		format: 1,
		pair: TEST_PAIR,
		side: "primary",
		arrivedAt: T - 10_000,
		leaseSeconds: 30,
		...over,
	});

describe("restart while cut off: the fence counts from the recorded lease", () => {
	// [what, when the fence stops the gateway (ms after the restart at T), what the state dir holds]
	const rows: [string, number, string | "missing" | "directory"][] = [
		["the last lease 10 s before the restart, 30 s lease", 20_000, record()],
		["a 60 s lease recorded, 10 s before", 50_000, record({ leaseSeconds: 60 })],
		["a 5 s lease recorded, 2 s before", 3_000, record({ arrivedAt: T - 2_000, leaseSeconds: 5 })],
		["a stale record (an hour old)", 0, record({ arrivedAt: T - 3_600_000 })],
		["the clock stepped back 5 min since", 0, record({ arrivedAt: T + 300_000 })],
		["the clock stepped back 1 s since", 0, record({ arrivedAt: T + 1_000 })],
		["a corrupt record", 0, "{not json"],
		["a record with an impossible length", 0, record({ leaseSeconds: 0 })],
		["a directory where the record should be", 0, "directory"],
		// Nothing recorded for this pair and side: a full default lease from the start (fencing-wait.ts).
		["a record for the standby side", 30_000, record({ side: "standby" })],
		["a record for another pair", 30_000, record({ pair: "office" })],
		["no record", 30_000, "missing"],
	];
	it.each(rows)(
		"%s: fences %i ms after the restart",
		async (_name, fencesAfterMs, held) => {
			const dir = await tempDir();
			const file = join(dir, LEASE_RECORD_FILE);
			if (held === "directory") await mkdir(file);
			else if (held !== "missing") await writeFile(file, held);
			const r = await startPrimary(dir, T);
			await expectFencesAt(r, T, fencesAfterMs);
		},
		ROW_TIMEOUT_MS,
	);
});

describe("the record a running primary leaves behind", () => {
	async function grant(r: Restart, active: Role | null, leaseSeconds: number): Promise<void> {
		const keys = await watchdogKeys();
		const text = await signLease(
			{ pair: TEST_PAIR, active, term: 1, issuedAt: r.clock.now, leaseSeconds },
			keys.privateKey,
		);
		const offered = await r.t.agent.lease.offer(text);
		if (offered.kind !== "kept") throw new Error(`lease not kept: ${JSON.stringify(offered)}`);
	}
	const onDisk = async (dir: string) =>
		JSON.parse(await readFile(join(dir, LEASE_RECORD_FILE), "utf8")) as LeaseRecord;

	it.each([
		[30, 20_000],
		[60, 50_000],
	])(
		"crash 10 s after a %i s lease: the restarted agent fences %i ms after its start",
		async (leaseSeconds, fencesAfterMs) => {
			const dir = await tempDir();
			const before = await startPrimary(dir, T);
			await grant(before, "primary", leaseSeconds);
			// The first lease is written at once; no close(): a crash does not flush.
			await waitFor(
				"the lease record",
				async () => (await onDisk(dir).catch(() => null)) !== null,
				5_000,
			);
			const after = await startPrimary(dir, T + 10_000);
			await expectFencesAt(after, T + 10_000, fencesAfterMs);
		},
		ROW_TIMEOUT_MS,
	);

	it(
		"a planned restart (close) records the very last lease, throttled or not",
		async () => {
			const dir = await tempDir();
			const before = await startPrimary(dir, T);
			await grant(before, "primary", 30);
			await waitFor(
				"the lease record",
				async () => (await onDisk(dir).catch(() => null)) !== null,
				5_000,
			);
			before.clock.now = T + 5_000;
			await grant(before, "primary", 30); // within the lag limit: not written yet
			await before.t.agent.close();
			expect((await onDisk(dir)).arrivedAt).toBe(T + 5_000);
			const after = await startPrimary(dir, T + 10_000);
			await expectFencesAt(after, T + 10_000, 25_000);
		},
		ROW_TIMEOUT_MS,
	);

	it("a lease that changes the length is recorded at once, and a lease naming nobody changes nothing", async () => {
		const dir = await tempDir();
		const r = await startPrimary(dir, T);
		await grant(r, "primary", 30);
		r.clock.now = T + 1_000;
		await grant(r, "primary", 60);
		await waitFor("length 60 on disk", async () => (await onDisk(dir)).leaseSeconds === 60, 5_000);
		r.clock.now = T + 2_000;
		await grant(r, null, 45); // promoting: nobody named; its length is not this side's
		await r.t.agent.close(); // a flush: whatever it would write lands now
		expect(await onDisk(dir)).toEqual({
			format: 1,
			pair: TEST_PAIR,
			side: "primary",
			arrivedAt: T + 1_000,
			leaseSeconds: 60,
		});
		expect((await stat(join(dir, LEASE_RECORD_FILE))).mode & 0o777).toBe(0o600);
	});

	it("a standby's agent keeps no record (it has no fence)", async () => {
		const dir = await tempDir();
		const r = await startPrimary(dir, T, "standby");
		await grant(r, "standby", 30);
		await r.t.agent.close();
		await expect(stat(join(dir, LEASE_RECORD_FILE))).rejects.toThrow(/ENOENT/);
	});
});
