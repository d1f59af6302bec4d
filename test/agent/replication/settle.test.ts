// The settle check's clock arithmetic: fractional mtimes against whole-ms `now`, and mtimes in the future.
import { utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
	applyPolicy,
	newPolicyMemory,
	type PolicyOptions,
	settledAt,
} from "../../../agent/src/replication/content-policy";
import { tempDir } from "../steps/helpers";

const NOW = 1_800_000_000_000;
const opts = (settleMs: number, maxWaitMs = 15_000) => ({ settleMs, maxWaitMs });

describe("settledAt: when a changed file counts as settled", () => {
	// [what, mtime (ms, fractional), now, settleMs, first seen waiting (ms) or null, expected: null = settled now]
	const table: [string, number, number, number, number | null, number | null][] = [
		["written within now's millisecond, no settle time", NOW + 0.7, NOW, 0, null, null],
		["written within now's millisecond, settle 0, seen before", NOW + 0.999, NOW, 0, NOW - 5, null],
		["written a ms before now, settle 0", NOW - 0.3, NOW, 0, null, null],
		["quiet for exactly the settle time", NOW - 2_000 + 0.9, NOW, 2_000, null, null],
		["quiet for less than the settle time", NOW - 1_000 + 0.5, NOW, 2_000, null, NOW + 1_000],
		[
			"future mtime (skew), first sighting, settle 2 s",
			NOW + 60_000.5,
			NOW,
			2_000,
			null,
			NOW + 2_000,
		],
		[
			"future mtime, first seen 1 s ago, settle 2 s",
			NOW + 60_000.5,
			NOW,
			2_000,
			NOW - 1_000,
			NOW + 1_000,
		],
		["future mtime, first seen a settle time ago", NOW + 60_000.5, NOW, 2_000, NOW - 2_000, null],
		["future mtime, settle 0: settled at first sight", NOW + 5.2, NOW, 0, null, null],
		["future mtime a year ahead, seen long ago", NOW + 3e10, NOW, 2_000, NOW - 60_000, null],
		[
			"never quiet: bounded by maxWait from first sight",
			NOW - 0.5,
			NOW,
			20_000,
			NOW - 15_000,
			null,
		],
	];
	it.each(table)("%s", (_, mtime, now, settleMs, seenAt, expected) => {
		const memory = newPolicyMemory();
		if (seenAt !== null) memory.waitingSince.set("f", seenAt);
		expect(settledAt(mtime, now, opts(settleMs), memory, "f")).toBe(expected);
	});

	it("a file whose mtime stays in the future is held at most settleMs past its first sighting", () => {
		const memory = newPolicyMemory();
		const verdicts: (number | null)[] = [];
		for (let t = NOW; t <= NOW + 3_000; t += 500)
			verdicts.push(settledAt(NOW + 600_000, t, opts(2_000), memory, "f"));
		expect(verdicts).toEqual([
			NOW + 2_000,
			NOW + 2_000,
			NOW + 2_000,
			NOW + 2_000,
			null,
			null,
			null,
		]);
	});
});

describe("applyPolicy on a real file with a fractional mtime", () => {
	const dir = tempDir("settle");
	afterAll(() => dir.remove());
	const options: PolicyOptions = {
		settleMs: 0,
		emptyHoldMs: 0,
		maxFileBytes: 1 << 20,
		massDeleteShare: 0.5,
		massDeleteMinFiles: 10,
		maxWaitMs: 15_000,
	};
	it.each([0.001, 0.25, 0.5, 0.999])(
		"an untracked file written %s ms into the cycle's millisecond is staged at settle 0",
		async (fraction) => {
			writeFileSync(join(dir.path, "MEMORY.md"), "x\n");
			const at = (NOW + fraction) / 1000;
			utimesSync(join(dir.path, "MEMORY.md"), at, at);
			const verdict = await applyPolicy({
				workspace: dir.path,
				entries: [{ xy: "??", path: "MEMORY.md" }],
				trackedCount: 1,
				headSize: async () => null,
				now: NOW,
				options,
				memory: newPolicyMemory(),
			});
			expect(verdict.stage).toEqual(["MEMORY.md"]);
			expect(verdict.waiting).toEqual([]);
		},
	);
});
