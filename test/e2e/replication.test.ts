// End to end: workspace replication across a hard-down failover and a failback, both sides writing the same
// files: the standby serves with the primary's writes up to the recovery point, and nothing is lost.
import { describe, expect, it } from "vitest";
import { git } from "../harness/git-workspace";
import type { Lab } from "../harness/lab";
import { waitFor } from "../harness/ports";
import { lineSet, WorkspaceWriter, WRITER_FILES } from "../harness/workspace-writer";
import { sleep, startLab } from "./support";

/** Short replication in the lab: the recovery point is bounded by interval + settle (+ one cycle). */
const REPLICATE_S = 2;
const SETTLE_S = 1;
/**
 * What a loaded 2-core CI machine adds to the bound: one replication cycle runs about ten git
 * commands (hundreds of ms each under load), plus the push; measured figures go to npm run bench.
 */
const MARGIN_S = 4;

/** Every branch tip on the bare remote: main and the failover/* branches. */
function remoteBranches(lab: Lab): string[] {
	return git(lab.ws.remote, "for-each-ref", "--format=%(refname:short)", "refs/heads")
		.split("\n")
		.filter((b) => b !== "");
}

/** Lines of each writer file at the tip of `branch` on the remote. */
function linesAt(lab: Lab, branch: string): Set<string> {
	const all = new Set<string>();
	for (const file of Object.values(WRITER_FILES)) {
		let text: string;
		try {
			text = git(lab.ws.remote, "show", `${branch}:${file}`);
		} catch {
			continue; // Not on this branch.
		}
		for (const l of lineSet(text)) all.add(l);
	}
	return all;
}

describe("workspace replication across failover and failback", () => {
	it("hard-down while the primary writes: the standby serves its writes up to the recovery point, both sides write the same files, and every line ends in the remote's history", async () => {
		const lab = await startLab({
			// 2 s probes: a sync that merges while the primary writes runs a few dozen git commands, and on
			// a loaded 2-core machine 1 s ticks read that as an agent that does not answer in time.
			intervalSeconds: 2,
			replication: { replicateIntervalSeconds: REPLICATE_S, settleSeconds: SETTLE_S },
		});
		const primary = new WorkspaceWriter(lab.ws.primary, "primary");
		const standby = new WorkspaceWriter(lab.ws.standby, "standby");
		primary.start();

		// The primary replicates under its lease while its gateway writes.
		await waitFor(
			"the primary's first push",
			async () => {
				const r = (await lab.agentStatus("primary")).replication;
				return r?.mode === "active" && r.lastPushAt !== null;
			},
			20_000,
			200,
		);
		const standbyWarm = (await lab.agentStatus("standby")).replication;
		expect(standbyWarm?.mode).toBe("standby");
		await sleep(3 * REPLICATE_S * 1000);

		// Hard down: the host stops at once, gateway, writer and agent (a push in flight dies with it).
		primary.stop();
		const faultAt = primary.lastAt() as number;
		await lab.primaryAgent?.kill();
		await lab.primaryGw.stop();

		const promoted = await lab.waitForEvent("promoted", faultAt, 40 * lab.interval);
		const served = lineSet(git(lab.ws.standby, "show", `HEAD:${WRITER_FILES.log}`));
		const newest = Math.max(...primary.written.filter((w) => served.has(w.text)).map((w) => w.at));
		const rpoS = (faultAt - newest) / 1000;
		console.log(
			`[replication] recovery point ${rpoS} s (bound ${REPLICATE_S + SETTLE_S + MARGIN_S} s)`,
		);
		expect(rpoS).toBeLessThanOrEqual(REPLICATE_S + SETTLE_S + MARGIN_S);

		// The standby serves and writes the same files; it holds the lease and pushes to main.
		standby.phase = "serving";
		standby.start();
		// Its gateway stops on demote: so does its writer (a line written in between is still its work).
		const follow = setInterval(() => {
			if (!lab.standbyGw.running) standby.stop();
		}, 50);
		try {
			await waitFor(
				"the standby's push while serving",
				async () => {
					const r = (await lab.agentStatus("standby")).replication;
					return r?.mode === "active" && (r.lastPushAt ?? 0) > promoted.at;
				},
				20_000,
				200,
			);
			await sleep(2 * REPLICATE_S * 1000);

			// The primary's host returns: its disk still has what it wrote before the fault (some of it never
			// pushed), its agent starts without a lease, and its gateway writes the same files again.
			const back = Date.now();
			primary.phase = "after";
			await lab.primaryAgent?.start();
			await lab.primaryGw.start();
			primary.start();

			await lab.waitForEvent("demoted", back, 40 * lab.interval);
			const synced = await Promise.race([
				lab.waitForEvent("synced", back, 40 * lab.interval),
				lab.waitForEvent("sync-failed", back, 40 * lab.interval),
			]);
			expect(synced.kind, JSON.stringify(await lab.events(), null, 1)).toBe("synced");
			expect(standby.running).toBe(false);
		} finally {
			clearInterval(follow);
		}
		// The primary serves again and keeps writing; then everything settles.
		await sleep(2 * REPLICATE_S * 1000);
		primary.stop();
		await waitFor(
			"the primary's work all pushed to main",
			async () => {
				const r = (await lab.agentStatus("primary")).replication;
				return (
					r?.mode === "active" &&
					r.pendingCommits === 0 &&
					git(lab.ws.primary, "status", "--porcelain") === "" &&
					git(lab.ws.primary, "rev-parse", "HEAD") === git(lab.ws.remote, "rev-parse", "main")
				);
			},
			30_000,
			250,
		);

		// Every line written anywhere is in the final history: main or a failover/* branch.
		const branches = remoteBranches(lab);
		const found = new Set<string>();
		for (const b of branches) for (const l of linesAt(lab, b)) found.add(l);
		const main = linesAt(lab, "main");
		const all = [...primary.written, ...standby.written];
		const lost = all.filter((w) => !found.has(w.text));
		const counts = {
			primaryBefore: primary.count("before"),
			standbyServing: standby.count("serving"),
			primaryAfter: primary.count("after"),
			found: all.length - lost.length,
			lost: lost.length,
			branches,
		};
		console.log(`[replication] ${JSON.stringify(counts)}`);
		expect(counts.primaryBefore).toBeGreaterThan(5);
		expect(counts.standbyServing).toBeGreaterThan(3);
		expect(counts.primaryAfter).toBeGreaterThan(3);
		expect(lost.map((w) => w.text)).toEqual([]);
		// The standby's version won where both sides edited: all it wrote is on main itself.
		expect(standby.written.filter((w) => !main.has(w.text)).map((w) => w.text)).toEqual([]);

		// Both sides edited the same files: the primary's version is on a pushed failover/primary-* branch,
		// and the sync (or the replicator's own merge) named the conflicted paths.
		expect(branches.some((b) => b.startsWith("failover/primary-"))).toBe(true);
		const status = await lab.agentStatus("primary");
		const syncOutput = status.lastOperation?.steps.map((s) => s.output ?? "").join("\n") ?? "";
		console.log(`[replication] the primary's sync: ${syncOutput}`);
		const reported = `${syncOutput}\n${lab.primaryAgent?.log.join("\n") ?? ""}`;
		expect(reported).toMatch(/conflict/i);
		expect(reported).toContain(WRITER_FILES.log);
	}, 150_000);
});
