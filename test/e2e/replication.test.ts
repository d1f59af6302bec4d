// End to end: workspace replication across a hard-down failover and a failback, both sides writing the same
// files: the standby serves with the primary's writes up to the recovery point, and nothing is lost.
import { describe, expect, it } from "vitest";
import { bothSidesWriting } from "../harness/both-sides-writing";
import { startLab } from "./support";

/** Short replication in the lab: the recovery point is bounded by interval + settle (+ one cycle). */
const REPLICATE_S = 2;
const SETTLE_S = 1;
/**
 * What a loaded 2-core machine adds to the bound: one replication cycle runs about ten git commands
 * (hundreds of ms each under load), plus the push (measured: 1 to 2 s of recovery point at load 5,
 * `npm run bench` has the figures). Bound 2 + 1 + 5 = 8 s, under the 10 s the primary writes before
 * the fault (bothSidesWriting), so a replication that stopped after its first push fails it.
 */
const MARGIN_S = 5;

describe("workspace replication across failover and failback", () => {
	// About 75 s here: lab start 10 s, then phases of a few replication intervals each (bothSidesWriting).
	it("hard-down while the primary writes: the standby serves its writes up to the recovery point, both sides write the same files, and every line ends in the remote's history", async () => {
		const lab = await startLab({
			// 2 s probes: a sync that merges while the primary writes runs a few dozen git commands, and on
			// a loaded 2-core machine 1 s ticks read that as an agent that does not answer in time.
			intervalSeconds: 2,
			// Default commandAttempts (3): a merging sync that outlasts a few ticks on a loaded machine is
			// polled again within the step's own deadline, never spent as attempts (decide-outcome.ts).
			replication: { replicateIntervalSeconds: REPLICATE_S, settleSeconds: SETTLE_S },
		});
		const r = await bothSidesWriting(lab, REPLICATE_S);
		console.log(
			`[replication] recovery point ${r.rpoS} s (bound ${REPLICATE_S + SETTLE_S + MARGIN_S} s); ${JSON.stringify({ ...r.written, found: r.found, lost: r.lost.length, branches: r.branches })}`,
		);
		console.log(
			`[replication] the primary's sync: ${r.syncOutput}\nlastConflict: ${JSON.stringify(r.lastConflict)}`,
		);

		// The standby served with the primary's writes up to the recovery point.
		expect(r.rpoS).toBeLessThanOrEqual(REPLICATE_S + SETTLE_S + MARGIN_S);
		// Failback merged (the primary wrote the same files all along), and nothing was lost anywhere.
		expect(r.sync.kind, r.sync.summary).toBe("synced");
		expect(r.written.primaryBefore).toBeGreaterThan(5);
		expect(r.written.standbyServing).toBeGreaterThan(3);
		expect(r.written.primaryAfter).toBeGreaterThan(3);
		expect(r.lost).toEqual([]);
		// The standby's version won where both sides edited: all it wrote is on main itself.
		expect(r.standbyNotOnMain).toEqual([]);
		// The primary's version is on a pushed failover/primary-* branch, and the primary agent's status
		// names the conflicted paths (replication.lastConflict: what the watchdog reads for its warning).
		expect(r.branches.some((b) => b.startsWith("failover/primary-"))).toBe(true);
		expect(r.conflictReported).toBe(true);
		// ... and the watchdog raised the warning event from the sync's result: paths and branch named.
		const conflict = (await lab.events()).find((e) => e.kind === "replication-conflict");
		expect(conflict?.summary).toContain("writer.log");
		expect(conflict?.summary).toMatch(/failover\/primary-/);
	}, 150_000);
});
