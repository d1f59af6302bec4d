// Which git refusals mean "uncommitted work stands in the merge's way" and which mean "a lock file is taken".
import { describe, expect, it } from "vitest";
import { refusalKind } from "../../../agent/src/replication/integrate";

describe("refusalKind: git's wordings for what stands in a merge's way", () => {
	const table: [string, string, string][] = [
		[
			"tracked change (fast-forward, porcelain)",
			"error: Your local changes to the following files would be overwritten by merge:\n\twriter.log\nPlease commit your changes or stash them before you merge.\nAborting",
			"in-the-way",
		],
		[
			"the advice alone (what describeRun kept)",
			"Please commit your changes or stash them before you merge. Aborting",
			"in-the-way",
		],
		[
			"staged change (merge strategy)",
			"error: Entry 'MEMORY.md' would be overwritten by merge. Cannot merge.",
			"in-the-way",
		],
		[
			"read-tree / reset --keep",
			"error: Entry 'MEMORY.md' not uptodate. Cannot merge.",
			"in-the-way",
		],
		[
			"untracked file overwritten",
			"error: The following untracked working tree files would be overwritten by merge:\n\tnew.md\nPlease move or remove them before you merge.\nAborting",
			"in-the-way",
		],
		[
			"untracked file removed",
			"error: The following untracked working tree files would be removed by merge:\n\tnew.md",
			"in-the-way",
		],
		[
			"directory with untracked files",
			"error: Updating the following directories would lose untracked files in them:\n\tmemory",
			"in-the-way",
		],
		[
			"unmerged index",
			"error: Merging is not possible because you have unmerged files.\nfatal: Exiting because of an unresolved conflict.",
			"in-the-way",
		],
		["unresolved index", "error: you need to resolve your current index first", "in-the-way"],
		[
			"index.lock",
			"fatal: Unable to create '/w/.git/index.lock': File exists.\n\nAnother git process seems to be running",
			"locked",
		],
		[
			"ref lock",
			"fatal: cannot lock ref 'HEAD': Unable to create '/w/.git/refs/heads/main.lock': File exists.",
			"locked",
		],
		["not a refusal", "fatal: not something we can merge", "other"],
	];
	it.each(table)("%s", (_, text, kind) => {
		expect(refusalKind(text).kind).toBe(kind);
	});

	it("names the lock file when git does", () => {
		expect(
			refusalKind(
				"fatal: cannot lock ref 'HEAD': Unable to create '/w/.git/refs/heads/main.lock': File exists.",
			),
		).toEqual({ kind: "locked", lock: "/w/.git/refs/heads/main.lock" });
	});
});
