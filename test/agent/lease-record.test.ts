// The fence's lease record: what a record read at start means, and writes only in the safe direction.
import { mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
	type FenceStart,
	fenceStart,
	LEASE_RECORD_FILE,
	LEASE_RECORD_MAX_LAG_MS,
	type LeaseRecord,
	LeaseRecorder,
	leaseRecordLagMs,
	type RecordRead,
	readLeaseRecord,
} from "../../agent/src/lease-record";
import { silentLogger } from "../../agent/src/log";
import type { Role } from "../../protocol";
import { tempDir } from "./helpers";
import { memoryLog } from "./replication/helpers";

const T = 1_800_000_000_000;
const rec = (over: Partial<LeaseRecord> = {}): LeaseRecord => ({
	format: 1,
	pair: "home",
	side: "primary",
	arrivedAt: T - 10_000,
	leaseSeconds: 30,
	...over,
});

describe("fenceStart: what a record read at start means", () => {
	const rows: [string, RecordRead, FenceStart["kind"], Partial<FenceStart>][] = [
		[
			"10 s old, 30 s lease",
			{ kind: "found", record: rec() },
			"recorded",
			{ arrivedAt: T - 10_000, leaseSeconds: 30 },
		],
		[
			"60 s lease",
			{ kind: "found", record: rec({ leaseSeconds: 60 }) },
			"recorded",
			{ leaseSeconds: 60 },
		],
		[
			"an hour old",
			{ kind: "found", record: rec({ arrivedAt: T - 3_600_000 }) },
			"recorded",
			{ arrivedAt: T - 3_600_000 },
		],
		["arrived this very ms", { kind: "found", record: rec({ arrivedAt: T }) }, "recorded", {}],
		[
			"1 ms ahead: the clock stepped back",
			{ kind: "found", record: rec({ arrivedAt: T + 1 }) },
			"run-out",
			{},
		],
		[
			"5 min ahead",
			{ kind: "found", record: rec({ arrivedAt: T + 300_000 }) },
			"run-out",
			{ leaseSeconds: 30 },
		],
		["missing", { kind: "missing" }, "start", {}],
		["another side", { kind: "other", record: rec({ side: "standby" }) }, "start", {}],
		["unreadable", { kind: "unreadable", message: "bad" }, "run-out", { leaseSeconds: null }],
	];
	it.each(rows)("%s", (_name, read, kind, fields) => {
		const start = fenceStart(read, T);
		expect(start.kind).toBe(kind);
		expect(start).toMatchObject(fields);
	});

	it("a clock stepped back never extends the wait past a lease from now", () => {
		for (const ahead of [1, 999, 30_000, 31_000, 86_400_000]) {
			const start = fenceStart({ kind: "found", record: rec({ arrivedAt: T + ahead }) }, T);
			expect(start.kind).toBe("run-out");
			expect(start.kind === "run-out" && start.why).toMatch(/stepped back/);
		}
	});
});

describe("readLeaseRecord", () => {
	const who = { pair: "home", side: "primary" as Role };
	const write = async (text: string) => {
		const dir = await tempDir();
		const file = join(dir, LEASE_RECORD_FILE);
		await writeFile(file, text);
		return file;
	};

	it("finds a record for this pair and side", async () => {
		const file = await write(JSON.stringify(rec()));
		expect(await readLeaseRecord(file, who)).toEqual({ kind: "found", record: rec() });
	});

	it("a missing file is missing", async () => {
		expect(await readLeaseRecord(join(await tempDir(), LEASE_RECORD_FILE), who)).toEqual({
			kind: "missing",
		});
	});

	it.each([
		["another side", rec({ side: "standby" })],
		["another pair", rec({ pair: "office" })],
	])("a record for %s is another's", async (_name, record) => {
		const file = await write(JSON.stringify(record));
		expect((await readLeaseRecord(file, who)).kind).toBe("other");
	});

	it.each([
		["not JSON", "{arrivedAt: 5", /not valid JSON/],
		["empty", "", /not valid JSON/],
		["a lease length of 0", JSON.stringify(rec({ leaseSeconds: 0 })), /leaseSeconds/],
		["a fractional arrival", JSON.stringify({ ...rec(), arrivedAt: 1.5 }), /arrivedAt/],
		["no arrival", JSON.stringify({ ...rec(), arrivedAt: undefined }), /arrivedAt/],
		["a future format", JSON.stringify({ ...rec(), format: 2 }), /format/],
		["an array", "[]", /lease record/],
	])("%s is unreadable, and says why", async (_name, text, why) => {
		const file = await write(text);
		const read = await readLeaseRecord(file, who);
		expect(read.kind).toBe("unreadable");
		expect(read.kind === "unreadable" && read.message).toMatch(why);
	});

	it("a directory in its place is unreadable (not a crash)", async () => {
		const dir = await tempDir();
		await mkdir(join(dir, LEASE_RECORD_FILE));
		const read = await readLeaseRecord(join(dir, LEASE_RECORD_FILE), who);
		expect(read.kind).toBe("unreadable");
		expect(read.kind === "unreadable" && read.message).toMatch(/cannot read/);
	});
});

/** A recorder on a fake disk: writes land (or fail) when the test says. */
function fakeDisk() {
	const writes: LeaseRecord[] = [];
	let onDisk: LeaseRecord | null = null;
	let fail: string | null = null;
	const write = async (_path: string, data: string) => {
		await Promise.resolve();
		if (fail !== null) throw new Error(fail);
		const record = JSON.parse(data) as LeaseRecord;
		writes.push(record);
		onDisk = record;
	};
	return {
		write,
		writes,
		get onDisk() {
			return onDisk;
		},
		failWith(message: string | null) {
			fail = message;
		},
	};
}

async function recorder(disk = fakeDisk(), log = memoryLog()) {
	const dir = await tempDir();
	const { recorder } = await LeaseRecorder.open({
		dir,
		pair: "home",
		side: "primary",
		now: () => T,
		log,
		write: disk.write,
	});
	return { recorder, disk, log, settle: () => recorder.flush() };
}

const primary = (leaseSeconds = 30) => ({ active: "primary" as const, leaseSeconds });

describe("LeaseRecorder: writes", () => {
	it("writes the real file atomically, 0600, in the format documented", async () => {
		const dir = await tempDir();
		const { recorder } = await LeaseRecorder.open({
			dir,
			pair: "home",
			side: "primary",
			now: () => T,
			log: silentLogger,
		});
		recorder.note(primary(45), T + 5);
		await recorder.flush();
		const file = join(dir, LEASE_RECORD_FILE);
		expect(JSON.parse(await readFile(file, "utf8"))).toEqual({
			format: 1,
			pair: "home",
			side: "primary",
			arrivedAt: T + 5,
			leaseSeconds: 45,
		});
		expect((await stat(file)).mode & 0o777).toBe(0o600);
		expect(await readdir(dir)).toEqual([LEASE_RECORD_FILE]);
	});

	it("the first lease at once; then an arrival only once the record lags by the limit", async () => {
		const t = await recorder();
		t.recorder.note(primary(), T);
		await t.settle();
		expect(t.disk.writes.map((w) => w.arrivedAt)).toEqual([T]);
		for (let at = T + 5_000; at <= T + 30_000; at += 5_000) {
			t.recorder.note(primary(), at);
			await Promise.resolve();
			await Promise.resolve();
		}
		await new Promise((r) => setTimeout(r, 0));
		// 5 s ticks, 10 s limit: every other lease.
		expect(t.disk.writes.map((w) => w.arrivedAt - T)).toEqual([0, 10_000, 20_000, 30_000]);
	});

	it("a changed length is written at once, whatever the lag", async () => {
		const t = await recorder();
		t.recorder.note(primary(30), T);
		await t.settle();
		t.recorder.note(primary(60), T + 1);
		await new Promise((r) => setTimeout(r, 0));
		expect(t.disk.onDisk).toMatchObject({ arrivedAt: T + 1, leaseSeconds: 60 });
	});

	it.each([
		["nobody (promoting), longer", null, 600],
		["nobody, shorter", null, 20],
		["the standby (promoted), longer", "standby", 600],
		["the standby, shorter", "standby", 25],
	] as const)(
		"a lease naming %s is never recorded: its length is not this side's",
		async (_name, active, leaseSeconds) => {
			const t = await recorder();
			t.recorder.note(primary(60), T);
			await t.settle();
			const before = t.disk.writes.length;
			t.recorder.note({ active, leaseSeconds }, T + 20_000);
			await t.settle();
			expect(t.disk.writes).toHaveLength(before);
			expect(t.disk.onDisk).toMatchObject({ arrivedAt: T, leaseSeconds: 60 });
			// The next lease naming this side is recorded with its own length.
			t.recorder.note(primary(30), T + 25_000);
			await t.settle();
			expect(t.disk.onDisk).toMatchObject({ arrivedAt: T + 25_000, leaseSeconds: 30 });
		},
	);

	it("a lease naming another side before any naming this one records nothing", async () => {
		const t = await recorder();
		t.recorder.note({ active: "standby", leaseSeconds: 30 }, T);
		t.recorder.note({ active: null, leaseSeconds: 60 }, T + 1);
		await t.settle();
		expect(t.disk.writes).toEqual([]);
	});

	it("an arrival behind the record (the clock stepped back) is written at once", async () => {
		const t = await recorder();
		t.recorder.note(primary(), T);
		await t.settle();
		t.recorder.note(primary(), T - 60_000);
		await new Promise((r) => setTimeout(r, 0));
		expect(t.disk.onDisk?.arrivedAt).toBe(T - 60_000);
	});

	it("a failed write is warned once and retried at the next lease", async () => {
		const t = await recorder();
		t.disk.failWith("EROFS: read-only file system");
		t.recorder.note(primary(), T);
		await t.settle();
		t.recorder.note(primary(), T + 5_000);
		await t.settle();
		const warned = t.log.lines.filter((l) => l.msg === "fence: cannot record the lease");
		expect(warned).toHaveLength(1);
		expect(warned[0]?.fields?.what).toMatch(/writable/);
		t.disk.failWith(null);
		t.recorder.note(primary(), T + 6_000);
		await new Promise((r) => setTimeout(r, 0));
		expect(t.disk.onDisk?.arrivedAt).toBe(T + 6_000);
	});

	it("flush writes the newest arrival, lag or not (a planned restart loses nothing)", async () => {
		const t = await recorder();
		t.recorder.note(primary(), T);
		t.recorder.note(primary(), T + 5_000);
		await t.settle();
		expect(t.disk.onDisk?.arrivedAt).toBe(T + 5_000);
		const before = t.disk.writes.length;
		await t.settle();
		expect(t.disk.writes).toHaveLength(before); // nothing new: no write
	});

	it("writes one at a time, and the last one written is the newest", async () => {
		let running = 0;
		let most = 0;
		const landed: LeaseRecord[] = [];
		const dir = await tempDir();
		const { recorder } = await LeaseRecorder.open({
			dir,
			pair: "home",
			side: "primary",
			now: () => T,
			log: silentLogger,
			write: async (_p, data) => {
				running++;
				most = Math.max(most, running);
				await new Promise((r) => setTimeout(r, 2));
				landed.push(JSON.parse(data) as LeaseRecord);
				running--;
			},
		});
		for (let i = 0; i < 20; i++) recorder.note(primary(10 + i), T + i);
		await recorder.flush();
		expect(most).toBe(1);
		expect(landed.at(-1)).toMatchObject({ arrivedAt: T + 19, leaseSeconds: 29 });
		expect(landed.length).toBeLessThan(20); // leases noted during a write share the next one
	});
});

describe("LeaseRecorder.open: a record the fence cannot use never stops the agent", () => {
	it.each([
		["corrupt", "{{{", "run-out", /move the file aside/],
		[
			"from a clock now behind it",
			JSON.stringify(rec({ arrivedAt: T + 60_000 })),
			"run-out",
			/NTP/,
		],
		["for the standby side", JSON.stringify(rec({ side: "standby" })), "start", /replaces it/],
	])("%s: warns with what to do", async (_name, text, kind, what) => {
		const dir = await tempDir();
		await writeFile(join(dir, LEASE_RECORD_FILE), text);
		const log = memoryLog();
		const { recorder, start } = await LeaseRecorder.open({
			dir,
			pair: "home",
			side: "primary",
			now: () => T,
			log,
		});
		expect(start.kind).toBe(kind);
		const warning = log.lines.find((l) => l.level === "warn");
		expect(warning?.fields?.what).toMatch(what);
		// The first lease replaces the bad record at once.
		recorder.note(primary(), T);
		await recorder.flush();
		expect(JSON.parse(await readFile(join(dir, LEASE_RECORD_FILE), "utf8"))).toMatchObject({
			side: "primary",
			arrivedAt: T,
		});
	});
});

/** Deterministic PRNG (mulberry32): the property below replays exactly from its seed. */
function prng(seed: number): () => number {
	let a = seed >>> 0;
	return () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
	};
}

/** 300 schedules of up to 45 leases on a fake disk: under a second idle, a margin for a loaded 2-core machine. */
const PROPERTY_TIMEOUT_MS = 30_000;

describe("throttled writes never make a restarted fence later", () => {
	it(
		"at any crash point, the record is one lease naming this side, runs out no later than the newest, and lags it by less than the limit",
		async () => {
			for (let seed = 1; seed <= 300; seed++) {
				const random = prng(seed);
				const t = await recorder(fakeDisk(), memoryLog());
				let at = T;
				let newest: { arrivedAt: number; leaseSeconds: number } | null = null;
				let length = 30;
				// Every (arrival, length) of a lease naming this side noted so far.
				const noted: { arrivedAt: number; leaseSeconds: number }[] = [];
				const steps = 5 + Math.floor(random() * 40);
				for (let i = 0; i < steps; i++) {
					at += Math.floor(random() * 12_000); // ticks 0..12 s apart, some lost
					if (random() < 0.1) length = 1 + Math.floor(random() * 120);
					const roll = random();
					const active: Role | null = roll < 0.8 ? "primary" : roll < 0.9 ? "standby" : null;
					t.recorder.note({ active, leaseSeconds: length }, at);
					if (active === "primary") {
						newest = { arrivedAt: at, leaseSeconds: length };
						noted.push(newest);
					}
					// A crash here, once the write in flight (an fsync: ms) has landed.
					await new Promise((r) => setImmediate(r));
					const disk = t.disk.onDisk;
					if (newest === null) {
						expect(disk).toBeNull();
						continue;
					}
					expect(disk, `seed ${seed} step ${i}`).not.toBeNull();
					if (disk === null) continue;
					// Arrival and length of one and the same lease naming this side, never a mix.
					expect(
						noted.some(
							(n) => n.arrivedAt === disk.arrivedAt && n.leaseSeconds === disk.leaseSeconds,
						),
						`seed ${seed} step ${i}`,
					).toBe(true);
					const restarted = fenceStart({ kind: "found", record: disk }, at + 1);
					expect(restarted.kind).toBe("recorded");
					if (restarted.kind !== "recorded") continue;
					const memoryRunsOut = newest.arrivedAt + newest.leaseSeconds * 1000;
					const diskRunsOut = restarted.arrivedAt + restarted.leaseSeconds * 1000;
					expect(diskRunsOut, `seed ${seed} step ${i}`).toBeLessThanOrEqual(memoryRunsOut);
					expect(restarted.leaseSeconds).toBe(newest.leaseSeconds);
					expect(newest.arrivedAt - restarted.arrivedAt).toBeLessThan(
						leaseRecordLagMs(newest.leaseSeconds),
					);
				}
			}
		},
		PROPERTY_TIMEOUT_MS,
	);

	it("the lag limit is a third of the lease, at most 10 s", () => {
		expect(leaseRecordLagMs(30)).toBe(10_000);
		expect(leaseRecordLagMs(3)).toBe(1_000);
		expect(leaseRecordLagMs(3_600)).toBe(LEASE_RECORD_MAX_LAG_MS);
	});
});
