// Which changed workspace paths a replication commit may take: settled, not emptied mid-write, not refused content.

import { join } from "node:path";
import { lstat, stat } from "../fs-async";

/**
 * Never replicated, whatever the workspace's own .gitignore says: caches and virtual environments
 * (large, rebuilt on demand, machine-specific), editor and atomic-write temporaries (half-written by
 * definition), and credential files (a standby must not receive a node's keys; see docs/state.md).
 * Written as a managed block into `.git/info/exclude`, so a shell `git status` agrees with the agent.
 */
export const DEFAULT_IGNORE: readonly string[] = Object.freeze([
	"node_modules/",
	".venv/",
	"venv/",
	"__pycache__/",
	"*.pyc",
	".cache/",
	".pytest_cache/",
	".mypy_cache/",
	".tox/",
	".DS_Store",
	"*.swp",
	"*.tmp",
	".env",
	".env.*",
	"*.pem",
	"*.key",
	"*.p12",
	"*.pfx",
	"id_rsa*",
	"id_ed25519*",
	"id_ecdsa*",
	".netrc",
	".npmrc",
	".pypirc",
	"credentials.json",
	"*.kdbx",
]);

export const EXCLUDE_BEGIN = "# >>> failover-gateway (managed; never replicated)";
export const EXCLUDE_END = "# <<< failover-gateway";

/** The exclude file with our block replaced (or appended); the rest of the operator's lines kept as they are. */
export function withManagedBlock(existing: string, patterns: readonly string[]): string {
	const block = [EXCLUDE_BEGIN, ...patterns, EXCLUDE_END].join("\n");
	const start = existing.indexOf(EXCLUDE_BEGIN);
	const end = existing.indexOf(EXCLUDE_END);
	if (start !== -1 && end > start) {
		return existing.slice(0, start) + block + existing.slice(end + EXCLUDE_END.length);
	}
	const sep = existing === "" || existing.endsWith("\n") ? "" : "\n";
	return `${existing}${sep}${block}\n`;
}

/** One line of `git status --porcelain=v1 -z`: `xy` are the index and worktree letters. */
export interface StatusEntry {
	readonly xy: string;
	readonly path: string;
}

/** Parses `git status --porcelain=v1 -z` (renames and copies carry a second, original path). */
export function parseStatus(text: string): StatusEntry[] {
	const fields = text.split("\0");
	const entries: StatusEntry[] = [];
	for (let i = 0; i < fields.length; i++) {
		const field = fields[i] ?? "";
		if (field.length < 4) continue;
		const xy = field.slice(0, 2);
		entries.push({ xy, path: field.slice(3) });
		if (xy[0] === "R" || xy[0] === "C") {
			const original = fields[++i];
			if (original !== undefined && original !== "") entries.push({ xy: "D ", path: original });
		}
	}
	return entries;
}

export interface PolicyOptions {
	/** A file must have been unmodified this long (ms) before it is committed. */
	readonly settleMs: number;
	/** A tracked file that became empty is committed only once it has stayed empty this long (ms). */
	readonly emptyHoldMs: number;
	/** Files above this size (bytes) are refused: one oversized blob blocks every later push. */
	readonly maxFileBytes: number;
	/** Deleting more than this share of the tracked files in one cycle is held for the operator. */
	readonly massDeleteShare: number;
	/** ... but only from this many deletions on (a workspace of three files may lose one). */
	readonly massDeleteMinFiles: number;
	/**
	 * A file that never goes quiet (a log appended every second) is committed anyway once it has waited
	 * this long (ms; replication uses half its interval), so "at least every interval" holds for it too.
	 * Its content is then whatever the last write left, which for an appended file is a whole prefix.
	 */
	readonly maxWaitMs: number;
}

export type Refusal =
	| "too-large"
	| "nested-repository"
	| "dangling-symlink"
	| "not-a-file"
	| "undecodable-name";

/**
 * git prints paths as raw bytes and the agent reads its output as UTF-8: a name that is not UTF-8 comes
 * back with U+FFFD in it, names no file on disk and, passed to `git add`, fails the whole commit.
 */
const UNDECODABLE = "\uFFFD";

export interface PolicyMemory {
	/** Paths already reported as refused (each refusal is reported once, until the path changes kind). */
	readonly reported: Map<string, Refusal>;
	/** When a tracked file was first seen empty (ms). */
	readonly emptySince: Map<string, number>;
	/** When a changed file was first seen not yet settled (ms). */
	readonly waitingSince: Map<string, number>;
	/**
	 * When each path was last staged (ms): a file that changes again right after is unreplicated from that
	 * moment, not from when a later cycle first notices it, so its wait counts from here.
	 */
	readonly stagedAt: Map<string, number>;
}

export function newPolicyMemory(): PolicyMemory {
	return {
		reported: new Map(),
		emptySince: new Map(),
		waitingSince: new Map(),
		stagedAt: new Map(),
	};
}

export interface PolicyVerdict {
	/** Paths to stage this cycle (`git add -A` takes additions, changes and deletions alike). */
	readonly stage: string[];
	/** Changed but not yet settled, or emptied and not yet held long enough: looked at again next cycle. */
	readonly waiting: string[];
	/** Newly refused paths (not reported before), with why. */
	readonly refused: { path: string; reason: Refusal }[];
	/** Deletions held back because they exceed the mass-deletion share; empty when none. */
	readonly heldDeletions: string[];
	/** When the earliest waiting path settles (ms since epoch), to schedule the next look; null: none. */
	readonly nextSettleAt: number | null;
}

export interface PolicyInput {
	readonly workspace: string;
	readonly entries: readonly StatusEntry[];
	/** Number of tracked files (git ls-files), for the mass-deletion share. */
	readonly trackedCount: number;
	/** Size of the path in HEAD (bytes), or null when HEAD has no such file. */
	readonly headSize: (path: string) => Promise<number | null>;
	readonly now: number;
	readonly options: PolicyOptions;
	readonly memory: PolicyMemory;
}

/** Sorts the changed paths of one cycle into stage / wait / refuse / hold. Reads file metadata only. */
export async function applyPolicy(input: PolicyInput): Promise<PolicyVerdict> {
	const { options, memory, now } = input;
	const stage: string[] = [];
	const waiting: string[] = [];
	const refused: { path: string; reason: Refusal }[] = [];
	const deletions: string[] = [];
	let nextSettleAt: number | null = null;
	const wait = (path: string, at: number) => {
		waiting.push(path);
		nextSettleAt = nextSettleAt === null ? at : Math.min(nextSettleAt, at);
	};
	const refuse = (path: string, reason: Refusal) => {
		if (memory.reported.get(path) !== reason) refused.push({ path, reason });
		memory.reported.set(path, reason);
	};

	for (const { xy, path } of input.entries) {
		if (path.includes(UNDECODABLE)) {
			// Refused (and reported) rather than staged: one such name must not block every other path.
			refuse(path, "undecodable-name");
			continue;
		}
		const full = join(input.workspace, path);
		if (path.endsWith("/")) {
			// git lists an untracked directory it will not descend into: a nested repository.
			refuse(path, "nested-repository");
			continue;
		}
		const info = await lstat(full).catch(() => null);
		if (info === null) {
			if (xy !== "??") deletions.push(path);
			continue;
		}
		if (info.isSymbolicLink()) {
			if ((await stat(full).catch(() => null)) === null) {
				refuse(path, "dangling-symlink");
				continue;
			}
		} else if (!info.isFile()) {
			refuse(path, "not-a-file");
			continue;
		} else if (info.size > options.maxFileBytes) {
			refuse(path, "too-large");
			continue;
		}
		memory.reported.delete(path);
		const until = settledAt(info.mtimeMs, now, options, memory, path);
		if (until !== null) {
			wait(path, until);
			continue;
		}
		memory.waitingSince.delete(path);
		if (info.isFile() && info.size === 0 && xy !== "??") {
			const before = await input.headSize(path);
			if (before !== null && before > 0) {
				// Truncate-then-write caught between the two: commit the emptiness only if it lasts.
				const since = memory.emptySince.get(path) ?? now;
				memory.emptySince.set(path, since);
				if (now - since < options.emptyHoldMs) {
					wait(path, since + options.emptyHoldMs);
					continue;
				}
			}
		} else {
			memory.emptySince.delete(path);
		}
		stage.push(path);
		memory.stagedAt.set(path, now);
	}

	let heldDeletions: string[] = [];
	if (
		deletions.length >= options.massDeleteMinFiles &&
		deletions.length > options.massDeleteShare * input.trackedCount
	) {
		heldDeletions = deletions;
	} else {
		stage.push(...deletions);
	}
	return { stage, waiting, refused, heldDeletions, nextSettleAt };
}

/**
 * When a changed file counts as settled (ms since epoch), or null when it already does at `now`. The
 * mtime (the OS's, with a fraction of a ms) is cut to whole ms first, as `now` (Date.now) is: a file
 * written within the cycle's own millisecond is then not "newer than now". A file still newer than `now`
 * (another clock wrote it, or timestamps are rounded up) cannot be judged by its mtime at all: it settles
 * `settleMs` after this process first saw it waiting, never later. Every file settles within `maxWaitMs`
 * of first being seen waiting (or of its last staging). Records the first sighting in `memory.waitingSince`.
 */
export function settledAt(
	mtimeMs: number,
	now: number,
	options: Pick<PolicyOptions, "settleMs" | "maxWaitMs">,
	memory: Pick<PolicyMemory, "waitingSince" | "stagedAt">,
	path: string,
): number | null {
	const mtime = Math.floor(mtimeMs);
	const quietAt = mtime + options.settleMs;
	if (quietAt <= now) return null;
	const since = memory.waitingSince.get(path) ?? memory.stagedAt.get(path) ?? now;
	memory.waitingSince.set(path, since);
	const until = Math.min(
		quietAt,
		since + options.maxWaitMs,
		mtime > now ? since + options.settleMs : Number.POSITIVE_INFINITY,
	);
	return now < until ? until : null;
}
