// The git-push step: commit everything, push; if the push is rejected, save the work on a failover/<time> branch.
import { currentBranch, GitSession, shownRemote } from "./git-session";
import type { Step } from "./schema";
import type { StepContext, StepOutcome } from "./types";

type GitPushStep = Extract<Step, { type: "git-push" }>;

/** Used only when the workspace has no identity of its own, so an existing one is never overridden. */
const FALLBACK_IDENTITY = {
	name: "failover-gateway",
	email: "failover-gateway@localhost",
} as const;

/** `failover/2026-05-01T12-00-00.000Z`: ISO time with ":" (not allowed in ref names) replaced by "-". */
export function failoverBranchName(ms: number): string {
	return `failover/${new Date(ms).toISOString().replaceAll(":", "-")}`;
}

export async function runGitPush(step: GitPushStep, ctx: StepContext): Promise<StepOutcome> {
	const s = new GitSession(ctx, "git-push", step.timeoutMs);
	const current = await currentBranch(s, ctx.workspace);
	// A detached HEAD is fine when the target branch is configured; anything else wrong with the checkout is not.
	if (!current.ok && !(current.detached && step.branch !== undefined))
		return s.failed(current.error);
	const branch = step.branch ?? (current.ok ? current.branch : "");
	const remote = shownRemote(step.remote);
	const target = `${remote}/${branch}`;

	const added = await s.git(["add", "--all"]);
	if (added.kind !== "exited" || added.exitCode !== 0)
		return s.failed(s.describe("git add --all", added));

	const staged = await s.git(["diff", "--cached", "--quiet"]);
	if (staged.kind !== "exited" || staged.exitCode > 1) {
		return s.failed(s.describe("checking for staged changes", staged));
	}
	if (staged.exitCode === 1) {
		const message =
			step.message ??
			`failover-gateway: ${ctx.action ?? "git-push"} at ${new Date(s.now).toISOString()}`;
		const identity = await missingIdentity(s);
		const committed = await s.git([...identity, "commit", "-m", message]);
		if (committed.kind !== "exited" || committed.exitCode !== 0) {
			return s.failed(
				`${s.describe("git commit", committed)}; the changes are still in the workspace (staged)`,
			);
		}
	}

	const head = await s.git(["rev-parse", "--verify", "--quiet", "HEAD"]);
	if (head.kind !== "exited" || head.exitCode !== 0) {
		return s.succeeded("nothing to commit and no commits to push");
	}
	const sha = head.output.trim().slice(0, 12);

	const pushed = await s.git(["push", "--porcelain", step.remote, `HEAD:refs/heads/${branch}`]);
	if (pushed.kind === "exited" && pushed.exitCode === 0) {
		return s.succeeded(
			/^=\t/m.test(pushed.output)
				? `nothing to push: ${target} is already at ${sha}`
				: `pushed ${sha} to ${target}`,
		);
	}
	if (pushed.kind !== "exited" || !isRejection(pushed.output)) {
		return s.failed(
			`${s.describe(`git push to ${target}`, pushed)}; the work is committed locally at ${sha}`,
		);
	}

	// Rejected. If the remote already holds this commit (the workspace was merely behind), nothing is at risk.
	const fetched = await s.git(["fetch", step.remote, `refs/heads/${branch}`]);
	if (fetched.kind === "exited" && fetched.exitCode === 0) {
		const contained = await s.git(["merge-base", "--is-ancestor", "HEAD", "FETCH_HEAD"]);
		if (contained.kind === "exited" && contained.exitCode === 0) {
			return s.succeeded(`nothing to push: ${target} already contains ${sha}`);
		}
	}

	// Never force, never discard: the same commit goes to a new branch on the remote.
	const rescue = failoverBranchName(s.now);
	const saved = await s.git(["push", "--porcelain", step.remote, `HEAD:refs/heads/${rescue}`]);
	if (saved.kind === "exited" && saved.exitCode === 0) {
		return s.succeeded(
			`push to ${target} was rejected; the work (${sha}) was saved on branch ${rescue} on ${remote} instead: merge it by hand`,
		);
	}
	return s.failed(
		`push to ${target} was rejected and saving to ${rescue} failed too (${s.describe("git push", saved)}); nothing was discarded: the work is committed locally at ${sha}`,
	);
}

/** `git push --porcelain` marks a refused ref with "!": non-fast-forward or declined by a remote hook. */
function isRejection(output: string): boolean {
	return /^!\t.*\[(?:remote )?rejected\]/m.test(output);
}

/** `-c` flags for whichever of user.name / user.email the workspace (or the user's config) lacks. */
async function missingIdentity(s: GitSession): Promise<string[]> {
	const flags: string[] = [];
	for (const key of ["name", "email"] as const) {
		const got = await s.git(["config", `user.${key}`]);
		if (got.kind !== "exited" || got.exitCode !== 0 || got.output.trim() === "") {
			flags.push("-c", `user.${key}=${FALLBACK_IDENTITY[key]}`);
		}
	}
	return flags;
}
