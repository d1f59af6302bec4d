// Integrates a remote commit into the workspace with a real merge computed off to the side (git merge-tree).

import { tmpdir } from "node:os";
import { join } from "node:path";
import { mkdtemp, rm } from "../fs-async";
import { describeRun, type GitCapture, type GitRun, ok } from "../steps/git-session";
import { parseStatus } from "./content-policy";

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
			 * The merge was computed but git refused to update the workspace because a path it changes
			 * holds uncommitted work (a file still being written, too new for the settle time).
			 */
			readonly blocked?: Blocked;
			/**
			 * git could not take a lock file (`index.lock`, `refs/heads/<branch>.lock`, ...): another git
			 * runs, or a killed one left it (repo-health clears it once it is stale). Its path, as git named it.
			 */
			readonly lock?: string;
	  };

type Failed = Extract<Integration, { kind: "failed" }>;

/** A computed integration the workspace could not move to yet (uncommitted work in the way). */
export interface Blocked {
	/** HEAD when it was computed, and the commit HEAD was to move to (a merge, or `theirs` itself). */
	readonly base: string;
	readonly target: string;
	/** The target's tree: what the workspace becomes. */
	readonly tree: string;
	readonly conflicts: readonly string[];
	readonly savedBranch: string | null;
}

export interface IntegrateInput {
	readonly git: GitCapture;
	/** The commit to integrate (usually the fetched remote main). */
	readonly theirs: string;
	/**
	 * Pushes `rev` (default HEAD) to `branch` on the remote, to keep our side of a conflicting merge;
	 * returns an error line or null.
	 */
	readonly saveOurs: (branch: string, rev?: string) => Promise<string | null>;
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
		if (!ok(ff)) {
			return refused("fast-forward", ff, {
				base: head,
				target: input.theirs,
				tree: `${input.theirs}^{tree}`,
				conflicts: [],
				savedBranch: null,
			});
		}
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
	const commit = await git([
		"commit-tree",
		finalTree,
		"-p",
		head,
		"-p",
		input.theirs,
		"-m",
		mergeMessage(input, conflicts),
	]);
	if (!ok(commit)) return fail(describeRun("git commit-tree", commit));
	const sha = commit.stdout.trim();
	// A fast-forward to a commit whose first parent is HEAD: git refuses before writing anything when a
	// local change or an untracked file would be overwritten, so a refusal leaves the workspace as it was.
	const ff = await git(["merge", "--ff-only", "--no-edit", sha]);
	if (!ok(ff)) {
		return refused("updating the workspace", ff, {
			base: head,
			target: sha,
			tree: finalTree,
			conflicts,
			savedBranch,
		});
	}
	return { kind: "merged", head: sha, conflicts, savedBranch };
}

function mergeMessage(input: IntegrateInput, conflicts: readonly string[]): string {
	return conflicts.length === 0
		? input.message
		: `${input.message}\n\nConflicting paths took the incoming version; ours is on ${input.saveBranch}:\n${conflicts
				.slice(0, 50)
				.map((p) => `  ${p}`)
				.join("\n")}`;
}

/**
 * git's refusals (LC_ALL=C) when uncommitted work stands where a merge or fast-forward writes, each
 * wording git has for it: a tracked change ("Your local changes to the following files would be
 * overwritten by merge" + "Please commit your changes or stash them before you merge"), a staged change
 * (the merge strategies' "Entry '<path>' would be overwritten by merge. Cannot merge.", read-tree's
 * "Entry '<path>' not uptodate. Cannot merge."), an untracked file ("The following untracked working
 * tree files would be overwritten|removed by merge"), a directory holding untracked files ("Updating the
 * following directories would lose untracked files in them"), an index with unmerged entries left by a
 * killed merge ("you need to resolve your current index first"). All mean the same to us: commit what
 * is in the way (integrateBusy), then move.
 */
const LOCAL_CHANGES_IN_THE_WAY =
	/would be (?:overwritten|removed) by merge|Please commit your changes or stash them|not uptodate\. Cannot merge|would lose untracked files|you need to resolve your current index|Merging is not possible because you have unmerged files/i;

/** git could not create a lock file: `Unable to create '<path>.lock': File exists` (index or ref), `cannot lock ref`. */
const LOCK_FILE = /Unable to create '([^']+\.lock)': File exists/i;
const LOCK_TAKEN = /cannot lock ref '[^']*'/i;

/** What a refused git run's text says stood in the way: uncommitted work, a lock file (its path, when named), or neither. */
export function refusalKind(
	text: string,
): { kind: "in-the-way" } | { kind: "locked"; lock: string } | { kind: "other" } {
	const file = LOCK_FILE.exec(text)?.[1];
	if (file !== undefined) return { kind: "locked", lock: file };
	if (LOCK_TAKEN.test(text)) return { kind: "locked", lock: "a ref's lock file" };
	if (LOCAL_CHANGES_IN_THE_WAY.test(text)) return { kind: "in-the-way" };
	return { kind: "other" };
}

/** A failed `git merge --ff-only`, carrying the computed result when uncommitted work was in the way. */
function refused(what: string, ff: GitRun, computed: Blocked): Failed {
	const reason = `${describeRun(what, ff)}; nothing changed`;
	if (ff.kind !== "exited") return { kind: "failed", reason };
	const why = refusalKind(`${ff.stdout}\n${ff.stderr}`);
	switch (why.kind) {
		case "in-the-way":
			return { kind: "failed", reason, blocked: computed };
		case "locked":
			return { kind: "failed", reason: `${reason} (lock file ${why.lock})`, lock: why.lock };
		case "other":
			return { kind: "failed", reason };
	}
}

/**
 * Rounds of "commit what is in the way, move again". One round is about five git commands between
 * taking the files' content and git's own check that they did not change since (a few hundred ms on a
 * loaded host), against a gateway that writes a file about once a second at most: five collisions in a
 * row mean something keeps the file busy all the time; the caller reports it and retries later.
 */
export const BUSY_ROUNDS = 5;

/**
 * `integrate`, for a workspace that is written while it runs. When uncommitted work stands where the
 * result writes (a file the gateway is writing: too fresh for the settle time, or written after our
 * commit), the paths in the way are committed as they are now (`commitPaths`: returns the new HEAD, null
 * when the content policy committed nothing, e.g. a file emptied mid-write, or `{ error }` when the
 * commit failed: its reason joins the final "failed" one) and the result is
 * re-parented onto that commit without being computed again: those paths were changed by both sides,
 * so they take the incoming version like any conflict, and our version is on the commit that is the
 * result's first parent, so it is in the history from that moment. Only then is it pushed to the
 * saved branch (pushing first would widen the window in which the file can change again). A final
 * "failed" leaves the workspace as it was apart from those commits, which hold only our own work.
 */
export async function integrateBusy(
	input: IntegrateInput & {
		readonly commitPaths: (
			paths: readonly string[],
		) => Promise<string | null | { readonly error: string }>;
	},
): Promise<Integration & { readonly busyCommits: number }> {
	const first = await integrate(input);
	if (first.kind !== "failed" || first.blocked === undefined) return { ...first, busyCommits: 0 };
	const { git } = input;
	const { tree } = first.blocked;
	let { base, target } = first.blocked;
	const conflicts = new Set(first.blocked.conflicts);
	let busyCommits = 0;
	let last: Failed = first;
	for (let round = 0; round < BUSY_ROUNDS; round++) {
		const inTheWay = await pathsInTheWay(git, base, target);
		if (inTheWay === null) break;
		const ours = inTheWay.length === 0 ? base : await input.commitPaths(inTheWay);
		if (ours === null) break;
		if (typeof ours !== "string") {
			// The work in the way cannot be committed (a lock, a full disk): say so, not only git's
			// "Please commit your changes", which names the symptom.
			const why = refusalKind(ours.error);
			last = {
				kind: "failed",
				reason: `${last.reason}; committing the ${inTheWay.length} path(s) in the way failed: ${ours.error}`,
				...(why.kind === "locked" ? { lock: why.lock } : {}),
			};
			break;
		}
		if (ours !== base) busyCommits++;
		for (const p of inTheWay) conflicts.add(p);
		const all = [...conflicts];
		const commit = await git([
			"commit-tree",
			tree,
			"-p",
			ours,
			"-p",
			input.theirs,
			"-m",
			mergeMessage(input, all),
		]);
		if (!ok(commit)) {
			last = {
				kind: "failed",
				reason: `${describeRun("git commit-tree", commit)}; nothing changed`,
			};
			break;
		}
		base = ours;
		target = commit.stdout.trim();
		const ff = await git(["merge", "--ff-only", "--no-edit", target]);
		if (ok(ff)) {
			// Our side of every path the result overwrote, on the saved branch (a fast-forward of it when
			// the first merge already saved HEAD there).
			const saveError = all.length === 0 ? null : await input.saveOurs(input.saveBranch, ours);
			return {
				kind: "merged",
				head: target,
				conflicts: all,
				savedBranch: all.length === 0 || saveError !== null ? null : input.saveBranch,
				busyCommits,
			};
		}
		last = refused("updating the workspace", ff, {
			base,
			target,
			tree,
			conflicts: all,
			savedBranch: null,
		});
		if (last.blocked === undefined) break;
	}
	return { ...last, busyCommits };
}

/** Uncommitted paths (changed, new or deleted) that moving from `base` to `target` would write; null: git failed. */
async function pathsInTheWay(
	git: GitCapture,
	base: string,
	target: string,
): Promise<string[] | null> {
	const changed = await git(["diff", "--name-only", "-z", "--no-renames", base, target]);
	const status = await git([
		"status",
		"--porcelain=v1",
		"-z",
		"--untracked-files=all",
		"--no-renames",
	]);
	if (!ok(changed) || !ok(status)) return null;
	const written = new Set(changed.stdout.split("\0").filter((p) => p !== ""));
	return parseStatus(status.stdout)
		.map((e) => e.path)
		.filter((p) => written.has(p));
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
