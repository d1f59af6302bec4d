// The git-sync step: commit pending work, fetch, merge for real (conflicts saved on a pushed branch), push.

import type { StepWarning } from "../../../protocol";
import { commitChanges } from "../replication/commit-changes";
import { DEFAULT_REPLICATION } from "../replication/config";
import { newPolicyMemory } from "../replication/content-policy";
import { integrateBusy } from "../replication/integrate";
import { pushedRef, warmRef } from "../replication/replicator";
import { repairRepository } from "../replication/repo-health";
import { failoverBranchName } from "./git-push";
import { describeRun, type GitCapture, gitCapture, ok, shownRemote } from "./git-session";
import { boundText } from "./output-tail";
import type { Step } from "./schema";
import type { StepContext, StepOutcome } from "./types";

type GitSyncStep = Extract<Step, { type: "git-sync" }>;

/**
 * Promote (standby) and sync after failback (primary). Order matters: this side's pending changes are
 * committed first (they are work from before the switch), then the remote branch is merged with
 * `integrate` (merge-tree first, the workspace changes only by a final fast-forward, so a failed sync
 * leaves it exactly as before). A push failure does not fail the step: the merge is committed locally
 * and replication pushes it once this side holds the lease; the promote must not wait on the remote.
 */
export async function runGitSync(step: GitSyncStep, ctx: StepContext): Promise<StepOutcome> {
	const now = ctx.now ?? Date.now;
	const started = now();
	const notes: string[] = [];
	const warnings: StepWarning[] = [];
	const outcome = (status: StepOutcome["status"], error?: string): StepOutcome => ({
		status,
		ms: now() - started,
		output: boundText(notes.join("\n")),
		...(error === undefined ? {} : { error }),
		...(warnings.length === 0 ? {} : { warnings }),
	});
	const capture = gitCapture(ctx.workspace, ctx.git, step.timeoutMs);
	// One deadline for the whole step: each command gets what is left of it.
	const git: GitCapture = (args, opts = {}) =>
		capture(args, { ...opts, timeoutMs: Math.max(1, started + step.timeoutMs - now()) });
	const remote = shownRemote(step.remote);

	const gitDirRun = await git(["rev-parse", "--absolute-git-dir"]);
	if (!ok(gitDirRun)) return outcome("failed", `${ctx.workspace} is not a git repository`);
	const gitDir = gitDirRun.stdout.trim();
	for (const repair of await repairRepository({
		workspace: ctx.workspace,
		gitDir,
		staleLockMs: DEFAULT_REPLICATION.gitTimeoutSeconds * 1000,
		now: now(),
		git,
	})) {
		notes.push(`repair: ${JSON.stringify(repair)}`);
		if (repair.kind === "lock-held" || repair.kind === "state-stuck") {
			return outcome("failed", `the repository is busy or stuck (${repair.kind}); nothing changed`);
		}
	}
	let branch = step.branch;
	if (branch === undefined) {
		const current = await git(["symbolic-ref", "--quiet", "--short", "HEAD"]);
		if (!ok(current)) {
			return outcome(
				"failed",
				`the workspace ${ctx.workspace} has a detached HEAD: check out a branch or set "branch"`,
			);
		}
		branch = current.stdout.trim();
	}

	const side = ctx.side ?? (ctx.action === "promote" ? "standby" : "primary");
	const c = DEFAULT_REPLICATION;
	const memory = newPolicyMemory();
	const policy = {
		settleMs: step.settleSeconds * 1000,
		emptyHoldMs: c.emptyHoldSeconds * 1000,
		maxFileBytes: c.maxFileBytes,
		massDeleteShare: c.massDeleteShare,
		massDeleteMinFiles: c.massDeleteMinFiles,
		// A sync commits what has settled; a file still being written is committed only if it stands in
		// the merge's way (integrateBusy below).
		maxWaitMs: Number.POSITIVE_INFINITY,
	};
	const commit = (options: typeof policy, why: string, only?: readonly string[]) =>
		commitChanges({
			...(only === undefined ? {} : { only }),
			git,
			workspace: ctx.workspace,
			gitDir,
			now: now(),
			options,
			memory,
			extraIgnore: [],
			subject: `failover-gateway: ${side} commits ${why} before ${ctx.action ?? "sync"}`,
		});
	const committed = await commit(policy, "pending work");
	if (committed.kind === "failed" || committed.kind === "disk-full") {
		return outcome("failed", `committing pending work: ${committed.reason}; nothing changed`);
	}
	if (committed.kind === "committed")
		notes.push(`committed ${committed.files} pending path(s) as ${committed.sha.slice(0, 12)}`);
	const held = committed.verdict?.heldDeletions.length ?? 0;
	if (held > 0) {
		notes.push(`held ${held} mass deletion(s) for the operator (not committed)`);
		warnings.push({
			code: "mass-deletion-held",
			message: `${held} deleted path(s) were not committed before ${ctx.action ?? "sync"}: more than the mass-deletion limit at once. If the deletion is wanted, commit it by hand in ${ctx.workspace}; otherwise restore the files (git checkout -- <path>)`,
		});
	}

	const fetched = await git([
		"fetch",
		"--no-tags",
		step.remote,
		`+refs/heads/${branch}:${warmRef(branch)}`,
	]);
	if (!ok(fetched)) {
		const warm = await git(["rev-parse", "--verify", "--quiet", warmRef(branch)]);
		if (!ok(warm))
			return outcome(
				"failed",
				`${describeRun(`git fetch from ${remote}`, fetched)}; nothing merged`,
			);
		notes.push(
			`fetch failed (${describeRun("git fetch", fetched)}); merging the warm copy fetched earlier`,
		);
	}

	const saveBranch = `failover/${side}-${failoverBranchName(now()).slice("failover/".length)}`;
	const merged = await integrateBusy({
		git,
		// A file still being written stands where the merge writes: commit it as it is now (the merge
		// saves this side's version on a branch if the other side changed it too) rather than fail the sync.
		commitPaths: async (paths) => {
			const busy = await commit(
				{ ...policy, settleMs: 0, maxWaitMs: 0 },
				"files still being written",
				paths,
			);
			if (busy.kind === "nothing") return null;
			if (busy.kind !== "committed") return { error: busy.reason };
			notes.push(
				`committed ${busy.files} path(s) still being written, as ${busy.sha.slice(0, 12)}`,
			);
			return busy.sha;
		},
		theirs: warmRef(branch),
		saveBranch,
		saveOurs: async (name, rev = "HEAD") => {
			const saved = await git(["push", "--porcelain", step.remote, `${rev}:refs/heads/${name}`]);
			return ok(saved) ? null : describeRun(`git push to ${name}`, saved);
		},
		message: `failover-gateway: ${side} merges ${remote}/${branch} on ${ctx.action ?? "sync"}`,
	});
	if (merged.kind === "failed") return outcome("failed", merged.reason);
	let warning: string | undefined;
	switch (merged.kind) {
		case "up-to-date":
			notes.push(`already contains ${remote}/${branch}`);
			break;
		case "fast-forward":
			notes.push(`fast-forwarded to ${remote}/${branch}`);
			break;
		case "merged":
			notes.push(`merged ${remote}/${branch}`);
			if (merged.conflicts.length > 0) {
				// No saved branch: its push failed after the workspace moved; this side's version is then
				// the merge's first parent, already in the history.
				warning =
					merged.savedBranch === null
						? `conflicting paths took ${remote}/${branch}'s version; pushing this side's to a failover branch failed, it is the merge's first parent: ${merged.conflicts.join(", ")}. Reconcile by hand: git diff HEAD^1 HEAD -- <path>`
						: `conflicting paths took ${remote}/${branch}'s version; this side's is on ${merged.savedBranch}: ${merged.conflicts.join(", ")}. Reconcile by hand: git diff ${branch} ${merged.savedBranch} -- <path>`;
				notes.push(`WARNING: ${warning}`);
				warnings.push({ code: "merge-conflicts", message: warning });
				ctx.onConflict?.({
					at: now(),
					by: ctx.action === "promote" ? "promote" : "sync",
					paths: merged.conflicts,
					savedBranch: merged.savedBranch,
				});
			}
			break;
	}

	const ahead = await git(["rev-list", "--count", `${warmRef(branch)}..HEAD`]);
	if (ok(ahead) && Number(ahead.stdout.trim()) > 0) {
		const pushed = await git(["push", "--porcelain", step.remote, `HEAD:refs/heads/${branch}`]);
		if (ok(pushed)) {
			await git(["update-ref", pushedRef(branch), "HEAD"]);
			notes.push(`pushed to ${remote}/${branch}`);
		} else {
			notes.push(
				`WARNING: ${describeRun(`git push to ${remote}/${branch}`, pushed)}; the result is committed locally and replicated later`,
			);
		}
	}
	return outcome("succeeded");
}
