// "Nothing lost across failover and failback with both sides writing", as a bench row: the e2e scenario, counted.
import { type BothSidesResult, bothSidesWriting } from "../../test/harness/both-sides-writing";
import { Lab } from "../../test/harness/lab";

export interface BothSidesRow {
	replicateIntervalSeconds: number;
	probeIntervalSeconds: number;
	rpoS: number;
	/** "synced", or "sync-failed: <the event's summary>". */
	sync: string;
	written: BothSidesResult["written"];
	found: number;
	lost: number;
	failoverBranches: number;
	conflictReported: boolean;
	durationS: number;
}

/**
 * One run of the scenario in its own lab (2 s probes, the lab's short failback thresholds) with both
 * agents replicating every `replicateSeconds`. Lines are counted on every writer file.
 */
export async function measureBothSides(replicateSeconds: number): Promise<BothSidesRow> {
	const started = Date.now();
	const lab = await Lab.create({
		intervalSeconds: 2,
		replication: { replicateIntervalSeconds: replicateSeconds, settleSeconds: 2 },
	});
	try {
		const r = await bothSidesWriting(lab, replicateSeconds);
		return {
			replicateIntervalSeconds: replicateSeconds,
			probeIntervalSeconds: 2,
			rpoS: r.rpoS,
			sync: r.sync.kind === "synced" ? "synced" : `${r.sync.kind}: ${r.sync.summary}`,
			written: r.written,
			found: r.found,
			lost: r.lost.length,
			failoverBranches: r.branches.filter((b) => b.startsWith("failover/")).length,
			conflictReported: r.conflictReported,
			durationS: Math.round((Date.now() - started) / 1000),
		};
	} finally {
		await lab.stop();
	}
}

/** One line for the bench's output. */
export function describeBothSides(r: BothSidesRow): string {
	const w = r.written;
	return `every ${r.replicateIntervalSeconds} s: written primary before ${w.primaryBefore}, standby while serving ${w.standbyServing}, primary after ${w.primaryAfter}; found in main or failover/* ${r.found} of ${w.primaryBefore + w.standbyServing + w.primaryAfter}; lost ${r.lost}; recovery point ${r.rpoS} s; failback ${r.sync}, ${r.failoverBranches} failover branch(es), conflict reported: ${r.conflictReported ? "yes" : "NO"} (${r.durationS} s)`;
}
