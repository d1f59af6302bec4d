// Commits the workspace's settled, replicable changes (content policy applied) as one bounded commit.

import { join } from "node:path";
import { mkdir, readFile, writeFile } from "../fs-async";
import { describeRun, type GitCapture, ok } from "../steps/git-session";
import {
	applyPolicy,
	DEFAULT_IGNORE,
	type PolicyMemory,
	type PolicyOptions,
	type PolicyVerdict,
	parseStatus,
	withManagedBlock,
} from "./content-policy";
import { isDiskFull } from "./repo-health";

export type CommitResult =
	| {
			readonly kind: "committed";
			readonly sha: string;
			readonly files: number;
			readonly verdict: PolicyVerdict;
	  }
	| { readonly kind: "nothing"; readonly verdict: PolicyVerdict | null }
	| { readonly kind: "disk-full"; readonly reason: string; readonly fsck: string }
	| { readonly kind: "failed"; readonly reason: string };

/** Longest commit message subject we write: a commit message is read in one line of `git log`. */
const MAX_SUBJECT = 120;
/** Paths per `git add` call: keeps argv far below the kernel's limit whatever the path lengths. */
const ADD_CHUNK = 200;

export interface CommitInput {
	readonly git: GitCapture;
	readonly workspace: string;
	readonly gitDir: string;
	readonly now: number;
	readonly options: PolicyOptions;
	readonly memory: PolicyMemory;
	/** Extra ignore patterns from the config, after DEFAULT_IGNORE. */
	readonly extraIgnore: readonly string[];
	/** Commit subject, cut to MAX_SUBJECT characters. */
	readonly subject: string;
	/** Only these paths (exact, as git status names them); default: every changed path. */
	readonly only?: readonly string[];
}

/** Keeps `.git/info/exclude`'s managed block current; the operator's own lines are left untouched. */
export async function ensureExcludes(gitDir: string, extra: readonly string[]): Promise<void> {
	const file = join(gitDir, "info", "exclude");
	const existing = await readFile(file, "utf8").catch(() => "");
	const next = withManagedBlock(existing, [...DEFAULT_IGNORE, ...extra]);
	if (next !== existing) {
		await mkdir(join(gitDir, "info"), { recursive: true });
		await writeFile(file, next);
	}
}

/** Ignored paths that exist right now (collapsed to directories): reported once each as refused. */
export async function ignoredPaths(git: GitCapture): Promise<string[]> {
	const run = await git([
		"ls-files",
		"-z",
		"--others",
		"--ignored",
		"--exclude-standard",
		"--directory",
	]);
	return ok(run) ? run.stdout.split("\0").filter((p) => p !== "") : [];
}

export async function commitChanges(input: CommitInput): Promise<CommitResult> {
	const { git } = input;
	const status = await git([
		"status",
		"--porcelain=v1",
		"-z",
		"--untracked-files=all",
		"--no-renames",
	]);
	if (!ok(status)) return { kind: "failed", reason: describeRun("git status", status) };
	const only = input.only === undefined ? null : new Set(input.only);
	const entries = parseStatus(status.stdout).filter((e) => only === null || only.has(e.path));
	if (entries.length === 0) return { kind: "nothing", verdict: null };
	const tracked = await git(["ls-files", "-z"]);
	const trackedCount = ok(tracked) ? tracked.stdout.split("\0").filter((p) => p !== "").length : 0;
	const verdict = await applyPolicy({
		workspace: input.workspace,
		entries,
		trackedCount,
		headSize: async (path) => {
			const size = await git(["cat-file", "-s", `HEAD:${path}`]);
			return ok(size) ? Number(size.stdout.trim()) : null;
		},
		now: input.now,
		options: input.options,
		memory: input.memory,
	});
	if (verdict.stage.length === 0) return { kind: "nothing", verdict };

	for (let i = 0; i < verdict.stage.length; i += ADD_CHUNK) {
		const chunk = verdict.stage.slice(i, i + ADD_CHUNK);
		const added = await git(["--literal-pathspecs", "add", "-A", "--", ...chunk]);
		if (!ok(added)) return await failure(git, describeRun("git add", added));
	}
	// From here on the index holds what this call staged: every way out but a commit unstages it again.
	const staged = await git(["diff", "--cached", "--quiet"]);
	if (staged.kind === "exited" && staged.code === 0) return { kind: "nothing", verdict };
	const subject = input.subject.replace(/[\r\n]+/g, " ").slice(0, MAX_SUBJECT);
	const body = `${verdict.stage.length} path(s)`;
	const committed = await git(["commit", "--no-verify", "--quiet", "-m", subject, "-m", body]);
	if (!ok(committed)) return await failure(git, describeRun("git commit", committed));
	const head = await git(["rev-parse", "HEAD"]);
	return {
		kind: "committed",
		sha: ok(head) ? head.stdout.trim() : "",
		files: verdict.stage.length,
		verdict,
	};
}

/**
 * A failed add/commit (exited, timed out, or killed mid-way): the index is set back to HEAD, keeping the
 * working tree, so nothing stays staged. A half-staged index outlives the cycle that staged it: every
 * later fast-forward of a merge refuses it ("Your local changes ... would be overwritten by merge. Please
 * commit your changes or stash them"), and a later commit would take whatever was staged, settled or not.
 * The changes themselves stay in the working tree and the next cycle stages them again.
 * On a full disk, also check that what is referenced is intact (the objects written before the failure
 * must not leave HEAD pointing at a missing object).
 */
async function failure(git: GitCapture, reason: string): Promise<CommitResult> {
	const unstaged = await unstageAll(git);
	if (unstaged !== null) reason = `${reason}; ${unstaged}`;
	if (!isDiskFull(reason)) return { kind: "failed", reason };
	const fsck = await git(["fsck", "--connectivity-only", "--no-dangling", "--no-progress"]);
	return {
		kind: "disk-full",
		reason,
		fsck: ok(fsck) ? "git fsck: repository consistent" : describeRun("git fsck", fsck),
	};
}

/**
 * Sets the index back to HEAD for every path, leaving the working tree as it is (`git reset -- .`: with a
 * pathspec, reset moves no ref, so a stale ref lock cannot stop it; an unborn branch empties the index).
 * Returns null, or what went wrong (the index may then still hold staged changes).
 */
export async function unstageAll(git: GitCapture): Promise<string | null> {
	const reset = await git(["reset", "--quiet", "--", "."]);
	return ok(reset)
		? null
		: `the staged changes could not be unstaged (${describeRun("git reset", reset)})`;
}
