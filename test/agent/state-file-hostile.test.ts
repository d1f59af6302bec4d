// The agent's own files in its state dir, replaced by something it never writes: a FIFO, a symlink, a huge file, a folder.
import { execFileSync } from "node:child_process";
import { chmod, mkdir, symlink, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readLeaseRecord } from "../../agent/src/lease-record";
import { readMaintenance } from "../../agent/src/maintenance";
import { ReplayCache } from "../../agent/src/replay-cache";
import { StateFileError, StateStore } from "../../agent/src/state-store";
import { tempDir } from "./helpers";

const who = { pair: "home", side: "primary" } as const;
const record = `${JSON.stringify({ format: 1, pair: "home", side: "primary", arrivedAt: 1_000, leaseSeconds: 30 })}\n`;

type Plant = (file: string, dir: string) => Promise<void>;
/** Each way a file the agent writes by rename can be replaced; `why` is what the refusal must say. */
const plants: [string, Plant, RegExp][] = [
	[
		"a FIFO (a read would wait for a writer forever)",
		async (f) => void execFileSync("mkfifo", [f]),
		/not a regular file/,
	],
	[
		"a symlink to a valid record elsewhere",
		async (f, dir) => {
			await writeFile(join(dir, "elsewhere.json"), record);
			await symlink(join(dir, "elsewhere.json"), f);
		},
		/symbolic link/,
	],
	["a symlink to /etc/passwd", async (f) => symlink("/etc/passwd", f), /symbolic link/],
	["a folder", async (f) => mkdir(f), /not a regular file/],
	[
		"a 100 MB sparse file",
		async (f) => {
			await writeFile(f, "");
			await truncate(f, 100_000_000);
		},
		/bytes/,
	],
];

describe("state-dir files that are not what the agent wrote", () => {
	it.each(plants)(
		"fence-lease.json as %s is unreadable at once (the fence counts the lease as run out)",
		async (_, plant, why) => {
			const dir = await tempDir();
			const file = join(dir, "fence-lease.json");
			await plant(file, dir);
			// The old code waited on the FIFO forever: the agent never started, its gateway ran unfenced.
			const read = await Promise.race([
				readLeaseRecord(file, who),
				new Promise<"hung">((r) => setTimeout(() => r("hung"), 3_000)),
			]);
			expect(read).not.toBe("hung");
			expect(read).toMatchObject({ kind: "unreadable" });
			expect((read as { message: string }).message).toMatch(why);
			// Never quotes a file it did not write.
			expect((read as { message: string }).message).not.toContain("root:");
		},
		10_000,
	);

	it.each(plants)(
		"maintenance.json as %s is refused, not waited on",
		async (_, plant, why) => {
			const dir = await tempDir();
			await plant(join(dir, "maintenance.json"), dir);
			const read = await Promise.race([
				readMaintenance(dir),
				new Promise<"hung">((r) => setTimeout(() => r("hung"), 3_000)),
			]);
			expect(read).toMatchObject({ ok: false, message: expect.stringMatching(why) });
		},
		10_000,
	);

	it.each(plants)(
		"state.json as %s stops the start with a reason, not a hang",
		async (_, plant, why) => {
			const dir = await tempDir();
			await plant(join(dir, "state.json"), dir);
			const opened = StateStore.open(dir, { role: "primary", now: () => 1_000 }).then(
				() => "opened",
				(e: unknown) => e,
			);
			const r = await Promise.race([
				opened,
				new Promise<"hung">((res) => setTimeout(() => res("hung"), 3_000)),
			]);
			expect(r).toBeInstanceOf(StateFileError);
			expect((r as Error).message).toMatch(why);
		},
		10_000,
	);

	it.each(plants)(
		"nonces.json as %s counts as lost nonces, not a hang",
		async (_, plant) => {
			const dir = await tempDir();
			await plant(join(dir, "nonces.json"), dir);
			const opened = ReplayCache.open(dir, { maxSkewMs: 60_000, now: 1_000 }).then(
				(c) => c.lost,
				(e: unknown) => `threw: ${(e as Error).message}`,
			);
			const r = await Promise.race([
				opened,
				new Promise<"hung">((res) => setTimeout(() => res("hung"), 3_000)),
			]);
			expect(r).toBe("unreadable");
		},
		10_000,
	);
});

describe("the size cap on a state-dir file", () => {
	it.each([
		[4_096, "found"],
		[4_097, "unreadable"],
	])("a fence-lease.json of %i bytes (a record padded with spaces) is %s", async (size, kind) => {
		const dir = await tempDir();
		const file = join(dir, "fence-lease.json");
		await writeFile(file, record.trimEnd().padEnd(size, " "));
		expect(await readLeaseRecord(file, who)).toMatchObject({ kind });
	});
});

describe("a state dir other users may write", () => {
	it.each([
		[0o777, false],
		[0o1777, false],
		[0o770, false],
		[0o722, false],
		[0o755, true],
		[0o750, true],
		[0o700, true],
	])("mode %s: the agent starts: %s", async (mode, starts) => {
		const dir = await tempDir();
		await chmod(dir, mode);
		const r = await StateStore.open(dir, { role: "primary", now: () => 1_000 }).then(
			() => "opened",
			(e: unknown) => e,
		);
		if (starts) expect(r).toBe("opened");
		else {
			// Anyone who can write there could forge fence-lease.json: a restarted primary would then
			// keep its gateway up to an hour beside the promoted standby.
			expect(r).toBeInstanceOf(StateFileError);
			expect((r as Error).message).toMatch(/writable by others.*chmod 700/);
		}
	});
});
