// Integrates a remote commit into the workspace with a real merge computed off to the side (git merge-tree).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeRun, type GitCapture, type GitRun, ok } from "../steps/git-session";

/**
 * How an integration ended. Every kind but "failed" leaves HEAD containing `theirs`; "failed" leaves the
 * workspace exactly as it was (only unreferenced objects may have been written).
 * "merged" with `conflicts`: on those paths the tree holds `theirs`' version and `savedBranch` (pushed
 * before anything changed) holds ours.
 */
export type Integration =
	| { readonly kind: "up-to-date" }
	| { readonly kind: "fast-forward"; readonly head: string }
	| {
			readonly kind: "merged";
			readonly head: string;
			readonly conflicts: readonly string[];
			readonly savedBranch: string | null;
	  }
	| {
			readonly kind: "failed";
			readonly reason: string;
			/**
			 * The merge was computed but git refused to update the workspace because a file it changes
			 * holds uncommitted work (a file still being written, too new for the settle time).
			 */
			readonly blockedByLocalChanges?: true;
	  };

export interface IntegrateInput {
	readonly git: GitCapture;
	/** The commit to integrate (usually the fetched remote main). */
	readonly theirs: string;
	/** Pushes our HEAD to a new branch before a conflicting merge; returns an error line or null. */
	readonly saveOurs: (branch: string) => Promise<string | null>;
	/** Name of the branch that keeps our version of conflicting paths (e.g. failover/primary-<time>). */
	readonly saveBranch: string;
	readonly message: string;
}

const exited = (r: GitRun) => (r.kind === "exited" ? r.code : -1);

/** `git merge-tree --write-tree -z --name-only` (git >= 2.38): "<tree>\0<path>\0...\0\0<messages>". */
export function parseMergeTree(stdout: string): { tree: string; conflicts: string[] } {
	const end = stdout.indexOf("\0\0");
	const head = end === -1 ? stdout : stdout.slice(0, end);
	const [tree = "", ...paths] = head.split("\0").filter((p) => p !== "");
	return { tree, conflicts: [...new Set(paths)] };
}

/**
 * Merges `theirs` into HEAD. Requires a clean index for the paths it changes (commit pending work
 * first); untracked files that the merge would overwrite make the final fast-forward refuse, and then
 * nothing has changed. Never settles a conflict by picking one side wholesale: clean paths are merged,
 * and only the conflicting ones take `theirs` (with ours saved on a pushed branch first).
 */
export async function integrate(input: IntegrateInput): Promise<Integration> {
	const { git } = input;
	const fail = (reason: string): Integration => ({
		kind: "failed",
		reason: `${reason}; nothing changed`,
	});
	const headRun = await git(["rev-parse", "--verify", "--quiet", "HEAD"]);
	if (!ok(headRun)) {
		// An unborn branch takes the remote as it is.
		const ff = await git(["reset", "--keep", input.theirs]);
		return ok(ff)
			? { kind: "fast-forward", head: input.theirs }
			: fail(describeRun("first checkout", ff));
	}
	const head = headRun.stdout.trim();
	const contained = await git(["merge-base", "--is-ancestor", input.theirs, "HEAD"]);
	if (exited(contained) === 0) return { kind: "up-to-date" };
	const behind = await git(["merge-base", "--is-ancestor", "HEAD", input.theirs]);
	if (exited(behind) === 0) {
		const ff = await git(["merge", "--ff-only", "--no-edit", input.theirs]);
		if (!ok(ff)) return refused("fast-forward", ff);
		return { kind: "fast-forward", head: input.theirs };
	}

	const merged = await git([
		"merge-tree",
		"--write-tree",
		"-z",
		"--name-only",
		"HEAD",
		input.theirs,
	]);
	if (merged.kind !== "exited" || (merged.code !== 0 && merged.code !== 1)) {
		const why = describeRun("git merge-tree", merged);
		return fail(
			/unknown option|usage: git merge-tree/i.test(why) ? `${why} (needs git >= 2.38)` : why,
		);
	}
	const { tree, conflicts } = parseMergeTree(merged.stdout);
	if (!/^[0-9a-f]{40,64}$/.test(tree)) return fail("git merge-tree printed no tree");

	let finalTree = tree;
	let savedBranch: string | null = null;
	if (conflicts.length > 0) {
		const saveError = await input.saveOurs(input.saveBranch);
		if (saveError !== null) {
			return fail(
				`could not save our side of ${conflicts.length} conflicting path(s) to ${input.saveBranch}: ${saveError}`,
			);
		}
		savedBranch = input.saveBranch;
		const built = await theirsOnConflicts(git, tree, input.theirs, conflicts);
		if (typeof built !== "string" || built.startsWith("error:")) {
			return fail(built.slice("error: ".length));
		}
		finalTree = built;
	}
	const message =
		conflicts.length === 0
			? input.message
			: `${input.message}\n\nConflicting paths took the incoming version; ours is on ${input.saveBranch}:\n${conflicts
					.slice(0, 50)
					.map((p) => `  ${p}`)
					.join("\n")}`;
	const commit = await git([
		"commit-tree",
		finalTree,
		"-p",
		head,
		"-p",
		input.theirs,
		"-m",
		message,
	]);
	if (!ok(commit)) return fail(describeRun("git commit-tree", commit));
	const sha = commit.stdout.trim();
	// A fast-forward to a commit whose first parent is HEAD: git refuses before writing anything when a
	// local change or an untracked file would be overwritten, so a refusal leaves the workspace as it was.
	const ff = await git(["merge", "--ff-only", "--no-edit", sha]);
	if (!ok(ff)) return refused("updating the workspace", ff);
	return { kind: "merged", head: sha, conflicts, savedBranch };
}

/** git's refusal (LC_ALL=C) when a tracked change or an untracked file is where the merge writes. */
const LOCAL_CHANGES_IN_THE_WAY = /would be overwritten by merge/;

/** A failed `git merge --ff-only`, tagged when what stopped it is uncommitted work in the way. */
function refused(what: string, ff: GitRun): Integration {
	const reason = `${describeRun(what, ff)}; nothing changed`;
	return ff.kind === "exited" && LOCAL_CHANGES_IN_THE_WAY.test(`${ff.stdout}\n${ff.stderr}`)
		? { kind: "failed", reason, blockedByLocalChanges: true }
		: { kind: "failed", reason };
}

/**
 * Rounds of "commit what is in the way, merge again". A gateway writes a file about once a second at
 * most and one round (commit, merge-tree, fast-forward) takes well under that, so three collisions in a
 * row mean something else keeps the file busy; the caller then reports the failure and retries later.
 */
export const BUSY_ROUNDS = 3;

/**
 * `integrate`, for a workspace that is being written while it runs: when a file this side is still
 * writing blocks the final fast-forward (it was too fresh for the settle time, or was written between
 * our commit and the merge), `commitNow` commits the working tree as it is at that instant (false: it
 * could commit nothing, e.g. a file emptied mid-write that the policy holds back) and the merge is
 * computed again, up to BUSY_ROUNDS times. Without this, a file written every second (the gateway's
 * daily memory file) makes every sync fail: the settle time never passes for it. Same result kinds as
 * `integrate`; a final "failed" still leaves the workspace as it was, apart from the commits made.
 */
export async function integrateBusy(
	input: IntegrateInput & { readonly commitNow: () => Promise<boolean> },
): Promise<Integration & { readonly busyCommits: number }> {
	let busyCommits = 0;
	for (let round = 1; ; round++) {
		const result = await integrate(input);
		if (result.kind !== "failed" || !result.blockedByLocalChanges || round >= BUSY_ROUNDS)
			return { ...result, busyCommits };
		if (!(await input.commitNow())) return { ...result, busyCommits };
		busyCommits++;
	}
}

/** The merged tree with each conflicting path set to `theirs`' version (or removed where theirs has none). */
async function theirsOnConflicts(
	git: GitCapture,
	tree: string,
	theirs: string,
	conflicts: readonly string[],
): Promise<string> {
	const dir = await mkdtemp(join(tmpdir(), "fg-merge-"));
	const env = { GIT_INDEX_FILE: join(dir, "index") };
	try {
		const read = await git(["read-tree", tree], { env });
		if (!ok(read)) return `error: ${describeRun("git read-tree", read)}`;
		const lines: string[] = [];
		for (const path of conflicts) {
			const entry = await git(["ls-tree", "-z", theirs, "--", path]);
			if (!ok(entry)) return `error: ${describeRun("git ls-tree", entry)}`;
			const field = entry.stdout.split("\0").find((f) => f.endsWith(`\t${path}`));
			const meta = field?.slice(0, field.indexOf("\t")).split(" ");
			if (meta !== undefined && meta[1] === "blob") lines.push(`${meta[0]} ${meta[2]}\t${path}`);
			else lines.push(`0 ${"0".repeat(40)}\t${path}`);
		}
		const updated = await git(["update-index", "-z", "--index-info"], {
			env,
			input: lines.map((l) => `${l}\0`).join(""),
		});
		if (!ok(updated)) return `error: ${describeRun("git update-index", updated)}`;
		const written = await git(["write-tree"], { env });
		if (!ok(written)) return `error: ${describeRun("git write-tree", written)}`;
		return written.stdout.trim();
	} finally {
		await rm(dir, { recursive: true, force: true });
	}
}
