// The git-pull step: fetch, then fast-forward only; a diverged or conflicting workspace fails and nothing changes.
import { currentBranch, GitSession, shownRemote } from "./git-session";
import type { Step } from "./schema";
import type { StepContext, StepOutcome } from "./types";

type GitPullStep = Extract<Step, { type: "git-pull" }>;

export async function runGitPull(step: GitPullStep, ctx: StepContext): Promise<StepOutcome> {
	const s = new GitSession(ctx, "git-pull", step.timeoutMs);
	let branch = step.branch;
	if (branch === undefined) {
		const current = await currentBranch(s, ctx.workspace);
		if (!current.ok) return s.failed(current.error);
		branch = current.branch;
	}
	const remote = shownRemote(step.remote);
	const source = `${remote}/${branch}`;

	const fetched = await s.git(["fetch", step.remote, `refs/heads/${branch}`]);
	if (fetched.kind !== "exited" || fetched.exitCode !== 0) {
		if (fetched.kind === "exited" && /couldn't find remote ref/i.test(fetched.output)) {
			return s.failed(`branch ${branch} does not exist on ${remote}; nothing changed`);
		}
		return s.failed(`${s.describe(`git fetch from ${remote}`, fetched)}; nothing changed`);
	}

	// Classify by ancestry rather than by git's wording: local at or ahead of the remote needs nothing,
	// and a local commit the remote lacks means a fast-forward is impossible.
	const hasHead = await s.git(["rev-parse", "--verify", "--quiet", "HEAD"]);
	if (hasHead.kind === "exited" && hasHead.exitCode === 0) {
		const remoteIsBehind = await s.git(["merge-base", "--is-ancestor", "FETCH_HEAD", "HEAD"]);
		if (remoteIsBehind.kind === "exited" && remoteIsBehind.exitCode === 0) {
			return s.succeeded(`already up to date with ${source}`);
		}
		const canFastForward = await s.git(["merge-base", "--is-ancestor", "HEAD", "FETCH_HEAD"]);
		if (canFastForward.kind === "exited" && canFastForward.exitCode === 1) {
			return s.failed(
				`not a fast-forward: the workspace has commits that ${source} does not (histories diverged); nothing changed. Reconcile by hand, e.g. push the local commits to a branch`,
			);
		}
		if (canFastForward.kind !== "exited" || canFastForward.exitCode !== 0) {
			return s.failed(`${s.describe("comparing histories", canFastForward)}; nothing changed`);
		}
	}

	const merged = await s.git(["merge", "--ff-only", "FETCH_HEAD"]);
	if (merged.kind === "exited" && merged.exitCode === 0) {
		return s.succeeded(`fast-forwarded to ${source}`);
	}
	if (merged.kind === "exited" && /would be overwritten/i.test(merged.output)) {
		return s.failed(
			`uncommitted changes in the workspace conflict with ${source}; nothing changed (they were kept: commit or move them, then pull again)`,
		);
	}
	if (merged.kind === "exited" && /not possible to fast-forward/i.test(merged.output)) {
		return s.failed(`not a fast-forward from ${source}; nothing changed`);
	}
	return s.failed(s.describe(`git merge --ff-only ${source}`, merged));
}
