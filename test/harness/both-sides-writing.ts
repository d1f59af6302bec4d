// The replication scenario shared by the e2e test and `npm run bench`: hard-down failover and failback
// while both sides write the same files, then every line written is looked for on the git remote.
import { git } from "./git-workspace";
import type { Lab, PairEventView } from "./lab";
import { waitFor } from "./ports";
import { lineSet, WorkspaceWriter, WRITER_FILES } from "./workspace-writer";

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface BothSidesResult {
	/** The primary's last line before the hard fault (ms since epoch). */
	faultAt: number;
	promoted: PairEventView;
	/** Recovery point, s: the newest line written on the primary minus the newest the promoted standby has. */
	rpoS: number;
	/** "synced" or "sync-failed" (its summary says why). */
	sync: PairEventView;
	/** Lines written (every writer file), per phase. */
	written: { primaryBefore: number; standbyServing: number; primaryAfter: number };
	/** Written lines found at the tip of main or of a failover/* branch on the remote. */
	found: number;
	/** Texts of the lines found on no branch tip: should be empty. */
	lost: string[];
	/** Lines the standby wrote that main lacks (its version wins where both edited): should be empty. */
	standbyNotOnMain: string[];
	branches: string[];
	/** The primary's last operation's step output (the failback sync, with its conflict warning). */
	syncOutput: string;
	/**
	 * Whether the primary agent's status (replication.lastConflict, what the watchdog reads) named the
	 * writer's log, edited on both sides, as a conflicting path, with the branch holding the primary's version.
	 */
	conflictReported: boolean;
	lastConflict: unknown;
}

/** Every branch tip on the bare remote: main and the failover/* branches. */
export function remoteBranches(lab: Lab): string[] {
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

/**
 * Runs the scenario on a lab started with replication (LabOptions.replication). Phases, each in
 * replication intervals: the primary writes and replicates (`before`), hard down (writer, gateway and
 * agent at once), the standby is promoted and writes the same files while it serves, the primary's
 * host returns with its disk (unpushed lines included) and writes again, failback and sync, the primary
 * writes on, then everything settles and the remote's branch tips are read. Throws when a phase does
 * not happen in time (the lab's logs say why).
 */
export async function bothSidesWriting(
	lab: Lab,
	replicateSeconds: number,
	onPhase: (what: string) => void = () => {},
): Promise<BothSidesResult> {
	const interval = replicateSeconds * 1000;
	const primary = new WorkspaceWriter(lab.ws.primary, "primary");
	const standby = new WorkspaceWriter(lab.ws.standby, "standby");
	primary.start();
	await waitFor(
		"the primary's first push",
		async () => {
			const r = (await lab.agentStatus("primary")).replication;
			return r?.mode === "active" && r.lastPushAt !== null;
		},
		20_000 + 2 * interval,
		200,
	);
	// Five intervals: longer than the e2e's recovery-point bound, so a replication that stalled after its
	// first push cannot pass it.
	await sleep(5 * interval);

	onPhase("hard down");
	primary.stop();
	const faultAt = primary.lastAt() as number;
	await lab.primaryAgent?.kill();
	await lab.primaryGw.stop();

	const promoted = await lab.waitForEvent("promoted", faultAt, 40 * lab.interval);
	const served = lineSet(git(lab.ws.standby, "show", `HEAD:${WRITER_FILES.log}`));
	const newest = Math.max(...primary.written.filter((w) => served.has(w.text)).map((w) => w.at));
	const rpoS = Math.round((faultAt - newest) / 100) / 10;

	onPhase("standby serving");
	standby.phase = "serving";
	standby.start();
	// Its gateway stops on demote, and its writer with it (a line written in between is still its work).
	const follow = setInterval(() => {
		if (!lab.standbyGw.running) standby.stop();
	}, 50);
	let sync: PairEventView;
	try {
		await waitFor(
			"the standby's push while serving",
			async () => {
				const r = (await lab.agentStatus("standby")).replication;
				return r?.mode === "active" && (r.lastPushAt ?? 0) > promoted.at;
			},
			20_000 + 2 * interval,
			200,
		);
		await sleep(2 * interval);

		onPhase("primary back");
		const back = Date.now();
		primary.phase = "after";
		await lab.primaryAgent?.start();
		await lab.primaryGw.start();
		primary.start();
		await lab.waitForEvent("demoted", back, 40 * lab.interval);
		sync = await Promise.race([
			lab.waitForEvent("synced", back, 40 * lab.interval),
			lab.waitForEvent("sync-failed", back, 40 * lab.interval),
		]);
	} finally {
		clearInterval(follow);
		standby.stop();
	}

	onPhase("primary serving again");
	await sleep(2 * interval);
	primary.stop();
	let seen = "";
	await waitFor(
		"the primary's work all pushed to main",
		async () => {
			const r = (await lab.agentStatus("primary")).replication;
			const dirty = git(lab.ws.primary, "status", "--porcelain");
			const head = git(lab.ws.primary, "rev-parse", "HEAD");
			const main = git(lab.ws.remote, "rev-parse", "main");
			seen = `replication ${JSON.stringify(r)}; git status "${dirty}"; HEAD ${head === main ? "=" : "!="} main; pair ${(await lab.pair()).state}`;
			return r?.mode === "active" && r.pendingCommits === 0 && dirty === "" && head === main;
		},
		30_000 + 4 * interval,
		250,
	).catch((e: Error) => {
		throw new Error(`${e.message} (last seen: ${seen})`);
	});

	const branches = remoteBranches(lab);
	const found = new Set<string>();
	for (const b of branches) for (const l of linesAt(lab, b)) found.add(l);
	const main = linesAt(lab, "main");
	const all = [...primary.written, ...standby.written];
	const lost = all.filter((w) => !found.has(w.text)).map((w) => w.text);
	const status = await lab.agentStatus("primary");
	const syncOutput = status.lastOperation?.steps.map((s) => s.output ?? "").join("\n") ?? "";
	const lastConflict = status.replication?.lastConflict ?? null;
	return {
		faultAt,
		promoted,
		rpoS,
		sync,
		written: {
			primaryBefore: primary.count("before"),
			standbyServing: standby.count("serving"),
			primaryAfter: primary.count("after"),
		},
		found: all.length - lost.length,
		lost,
		standbyNotOnMain: standby.written.filter((w) => !main.has(w.text)).map((w) => w.text),
		branches,
		syncOutput,
		conflictReported:
			lastConflict !== null &&
			lastConflict.paths.includes(WRITER_FILES.log) &&
			(lastConflict.savedBranch?.startsWith("failover/primary-") ?? false),
		lastConflict,
	};
}
