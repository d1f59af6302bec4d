// Repairs what killed or interrupted gits leave behind (stale index.lock, half-done merges/rebases) before a cycle.
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { readdir, readFile, readlink, rm, stat } from "../fs-async";
import { type GitCapture, ok } from "../steps/git-session";

export type Repair =
	| { readonly kind: "stale-lock-cleared"; readonly path: string; readonly ageMs: number }
	| {
			readonly kind: "lock-held";
			readonly path: string;
			readonly ageMs: number;
			readonly why: string;
	  }
	| { readonly kind: "state-aborted"; readonly state: LeftoverState }
	| { readonly kind: "state-stuck"; readonly state: LeftoverState; readonly error: string };

export type LeftoverState = "merge" | "rebase" | "cherry-pick" | "revert";

/** Marker files git leaves while each operation is in progress, and the command that abandons it. */
const LEFTOVERS: readonly { state: LeftoverState; marker: string; abort: string[] }[] = [
	{ state: "rebase", marker: "rebase-merge", abort: ["rebase", "--abort"] },
	{ state: "rebase", marker: "rebase-apply", abort: ["rebase", "--abort"] },
	{ state: "merge", marker: "MERGE_HEAD", abort: ["merge", "--abort"] },
	{ state: "cherry-pick", marker: "CHERRY_PICK_HEAD", abort: ["cherry-pick", "--abort"] },
	{ state: "revert", marker: "REVERT_HEAD", abort: ["revert", "--abort"] },
];

/**
 * Whether any live process named git has its working directory in this repository (Linux /proc; elsewhere
 * the answer is "unknown" and the lock is left alone). Our own gits are excluded by the workspace lock.
 */
export async function liveGitIn(workspace: string): Promise<boolean | "unknown"> {
	if (!existsSync("/proc/self/cwd")) return "unknown";
	const root = resolve(workspace);
	let pids: string[];
	try {
		pids = (await readdir("/proc")).filter((p) => /^[0-9]+$/.test(p));
	} catch {
		return "unknown";
	}
	for (const pid of pids) {
		const comm = await readFile(`/proc/${pid}/comm`, "utf8").catch(() => "");
		if (!comm.startsWith("git")) continue;
		const cwd = await readlink(`/proc/${pid}/cwd`).catch(() => null);
		// Another user's process cannot be read: treat it as a possible owner.
		if (cwd === null || cwd === root || cwd.startsWith(`${root}/`)) return true;
	}
	return false;
}

export interface HealthOptions {
	readonly workspace: string;
	/** The repository's git dir (absolute). */
	readonly gitDir: string;
	/** A lock younger than this (ms) may belong to a git still running: the longest git timeout we use. */
	readonly staleLockMs: number;
	readonly now: number;
	readonly git: GitCapture;
	/** Injectable for tests; default: liveGitIn. */
	readonly liveGit?: (workspace: string) => Promise<boolean | "unknown">;
}

/**
 * Lock files git takes besides the index's: HEAD and the other pseudo-refs a commit or merge updates,
 * packed-refs, config. A git killed between taking one and renaming it over its target (SIGKILL: a crash,
 * or the grace after a timeout's SIGTERM) leaves it, and every later git that needs it fails: a
 * `refs/heads/<branch>.lock` makes every commit fail while `git add` still works, so changes pile up
 * staged in the index and every merge then refuses them.
 */
const TOP_LEVEL_LOCKS: readonly string[] = [
	"index.lock",
	"HEAD.lock",
	"ORIG_HEAD.lock",
	"FETCH_HEAD.lock",
	"MERGE_HEAD.lock",
	"packed-refs.lock",
	"config.lock",
	"shallow.lock",
];
/** Bound on the refs/ walk: a workspace repository has a few dozen refs; a runaway tree is not walked whole. */
const MAX_REF_ENTRIES = 10_000;

/** Lock files present in `gitDir` (absolute paths): the top-level ones, then any `*.lock` under refs/. */
export async function lockFiles(gitDir: string): Promise<string[]> {
	const found = TOP_LEVEL_LOCKS.map((name) => join(gitDir, name)).filter((p) => existsSync(p));
	const pending = [join(gitDir, "refs")];
	let seen = 0;
	while (pending.length > 0 && seen < MAX_REF_ENTRIES) {
		const dir = pending.pop() as string;
		const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
		for (const e of entries) {
			seen++;
			const path = join(dir, e.name);
			if (e.isDirectory()) pending.push(path);
			else if (e.name.endsWith(".lock")) found.push(path);
		}
	}
	return found;
}

/**
 * Call with the workspace lock held (no git of ours runs). Clears each lock file git left (`index.lock`,
 * `HEAD.lock`, `refs/heads/<branch>.lock`, ...: lockFiles) only when it is older than any git timeout of
 * ours and no live git works in the repository; aborts leftover merge/rebase states.
 */
export async function repairRepository(opts: HealthOptions): Promise<Repair[]> {
	const repairs: Repair[] = [];
	let live: boolean | "unknown" | undefined;
	for (const lock of await lockFiles(opts.gitDir)) {
		const info = await stat(lock).catch(() => null);
		if (info === null) continue;
		const ageMs = Math.max(0, opts.now - info.mtimeMs);
		if (ageMs < opts.staleLockMs) {
			repairs.push({
				kind: "lock-held",
				path: lock,
				ageMs,
				why: "younger than the longest git timeout",
			});
			continue;
		}
		live ??= await (opts.liveGit ?? liveGitIn)(opts.workspace);
		if (live !== false) {
			repairs.push({
				kind: "lock-held",
				path: lock,
				ageMs,
				why:
					live === true ? "a live git process works in this repository" : "cannot list processes",
			});
		} else {
			await rm(lock, { force: true });
			repairs.push({ kind: "stale-lock-cleared", path: lock, ageMs });
		}
	}
	for (const { state, marker, abort } of LEFTOVERS) {
		if (!existsSync(join(opts.gitDir, marker))) continue;
		const run = await opts.git(abort);
		if (ok(run)) repairs.push({ kind: "state-aborted", state });
		else {
			const error = run.kind === "exited" ? run.stderr.trim().slice(0, 300) : run.kind;
			repairs.push({ kind: "state-stuck", state, error });
		}
	}
	return repairs;
}

/** git's and the OS's words for a full disk or an exhausted quota. */
export function isDiskFull(text: string): boolean {
	return /No space left on device|ENOSPC|Disk quota exceeded|EDQUOT/i.test(text);
}
