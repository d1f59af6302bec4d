// The git-sync step on real repositories: failback and promote merge for real, conflicts lose nothing, failures change nothing.
import { mkdirSync, readFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { parseMergeTree } from "../../../agent/src/replication/integrate";
import { runStep, type StepContext } from "../../../agent/src/steps/run-step";
import { StepSchema } from "../../../agent/src/steps/schema";
import type { MergeConflict } from "../../../agent/src/steps/types";
import { commitAs, git, isolateGitConfig, makeRepos, type Repos, tempDir } from "../steps/helpers";

const base = tempDir("sync");
let restoreEnv: () => void;
beforeAll(() => {
	restoreEnv = isolateGitConfig(base.path);
});
afterAll(() => {
	restoreEnv();
	base.remove();
});

let root: ReturnType<typeof tempDir>;
let repos: Repos;
let ctx: StepContext;
beforeEach(() => {
	root = tempDir("sync-case");
	repos = makeRepos(root.path);
	// The primary's workspace: `work`; the standby that served meanwhile: `other`.
	ctx = {
		workspace: repos.work,
		gatewayUnit: { name: "openclaw-gateway.service", scope: "system" },
		readyUrl: "http://127.0.0.1:9/readyz",
		action: "sync",
		side: "primary",
		git: { identity: { name: "failover-gateway", email: "fg@localhost" } },
	};
});
afterEach(() => root.remove());

const sync = (fields: Record<string, unknown> = {}) =>
	StepSchema.parse({ type: "git-sync", settleSeconds: 0, ...fields });
const remoteFile = (ref: string, file: string) => git(repos.remote, "show", `${ref}:${file}`);
const failoverBranches = () =>
	git(repos.remote, "for-each-ref", "--format=%(refname:short)", "refs/heads/failover")
		.split("\n")
		.filter((b) => b !== "");
const DAY = "memory/2026-11-29.md";

/** Both sides start from a shared daily file and MEMORY.md, as a real workspace does. */
function seedShared() {
	mkdirSync(join(repos.other, "memory"), { recursive: true });
	repos.write(repos.other, DAY, "morning\n");
	repos.write(repos.other, "MEMORY.md", "facts\n");
	git(repos.other, "add", "-A");
	commitAs(repos.other, "shared");
	git(repos.other, "push", "-q", "origin", "main");
	git(repos.work, "pull", "-q", "--ff-only", "origin", "main");
}

function standbyWrites(file: string, content: string) {
	repos.write(repos.other, file, content);
	git(repos.other, "add", "-A");
	commitAs(repos.other, `standby: ${file}`);
	git(repos.other, "push", "-q", "origin", "main");
}

describe("git-sync after failback", { timeout: 60_000 }, () => {
	it("commits the primary's pending work first, then merges the standby's (different files: both kept)", async () => {
		standbyWrites("standby.md", "served during the outage\n");
		repos.write(repos.work, "primary.md", "written before the outage, never committed\n");
		const out = await runStep(sync(), ctx);
		expect(out.status, out.error).toBe("succeeded");
		expect(remoteFile("main", "standby.md")).toBe("served during the outage");
		expect(remoteFile("main", "primary.md")).toBe("written before the outage, never committed");
		expect(git(repos.work, "status", "--porcelain")).toBe("");
		expect(git(repos.work, "log", "-1", "--format=%p").split(" ")).toHaveLength(2); // a real merge
		expect(failoverBranches()).toEqual([]);
		expect(out.warnings).toBeUndefined(); // nothing for the operator: no warning event
	});

	it("both sides edited today's memory file and MEMORY.md: standby's in the tree, primary's on a pushed branch, paths named", async () => {
		seedShared();
		standbyWrites(DAY, "morning\nstandby afternoon\n");
		standbyWrites("MEMORY.md", "facts\nstandby fact\n");
		repos.write(repos.work, DAY, "morning\nprimary afternoon\n");
		repos.write(repos.work, "MEMORY.md", "facts\nprimary fact\n");
		repos.write(repos.work, "clean.md", "only the primary wrote this\n");
		const reported: MergeConflict[] = [];
		const out = await runStep(sync(), { ...ctx, onConflict: (c) => reported.push(c) });
		expect(out.status, out.error).toBe("succeeded");
		expect(out.output).toMatch(/WARNING: conflicting paths/);
		// For the agent's status (replication.lastConflict), so the watchdog can warn with the paths.
		expect(reported).toHaveLength(1);
		expect(reported[0]).toMatchObject({
			by: "sync",
			savedBranch: expect.stringMatching(/^failover\/primary-/),
		});
		expect([...(reported[0]?.paths ?? [])].sort()).toEqual(["MEMORY.md", DAY]);
		expect(out.output).toContain(DAY);
		expect(out.output).toContain("MEMORY.md");
		// The Worker raises its replication-conflict event from this, with the paths and the branch.
		expect(out.warnings?.map((w) => w.code)).toEqual(["merge-conflicts"]);
		expect(out.warnings?.[0]?.message).toContain(DAY);
		expect(out.warnings?.[0]?.message).toContain("MEMORY.md");
		expect(out.warnings?.[0]?.message).toMatch(/failover\/primary-/);
		expect(repos.read(repos.work, DAY)).toBe("morning\nstandby afternoon\n");
		expect(repos.read(repos.work, "MEMORY.md")).toBe("facts\nstandby fact\n");
		expect(repos.read(repos.work, "clean.md")).toBe("only the primary wrote this\n"); // not "theirs" wholesale
		expect(repos.read(repos.work, DAY)).not.toContain("<<<<<<<");
		const [saved] = failoverBranches();
		expect(saved).toMatch(/^failover\/primary-/);
		expect(remoteFile(saved ?? "", DAY)).toBe("morning\nprimary afternoon");
		expect(remoteFile(saved ?? "", "MEMORY.md")).toBe("facts\nprimary fact");
		expect(remoteFile("main", DAY)).toBe("morning\nstandby afternoon");
		expect(remoteFile("main", "clean.md")).toBe("only the primary wrote this");
	});

	it("add/add: both sides created the same new file", async () => {
		standbyWrites("notes.md", "standby's notes\n");
		repos.write(repos.work, "notes.md", "primary's notes\n");
		const out = await runStep(sync(), ctx);
		expect(out.status, out.error).toBe("succeeded");
		expect(out.output).toContain("notes.md");
		expect(repos.read(repos.work, "notes.md")).toBe("standby's notes\n");
		const [saved] = failoverBranches();
		expect(remoteFile(saved ?? "", "notes.md")).toBe("primary's notes");
	});

	it("rename/delete: the primary renamed a file the standby deleted", async () => {
		seedShared();
		git(repos.other, "rm", "-q", DAY);
		commitAs(repos.other, "standby deletes");
		git(repos.other, "push", "-q", "origin", "main");
		renameSync(join(repos.work, DAY), join(repos.work, "memory/archive.md"));
		const out = await runStep(sync(), ctx);
		expect(out.status, out.error).toBe("succeeded");
		expect(out.output).toMatch(/WARNING: conflicting paths/);
		const [saved] = failoverBranches();
		expect(remoteFile(saved ?? "", "memory/archive.md")).toBe("morning");
		expect(git(repos.work, "status", "--porcelain")).toBe("");
		expect(git(repos.work, "ls-files", "memory")).not.toContain("2026-11-29.md");
	});

	it("a merge that cannot be applied leaves the workspace exactly as it was, and says why", async () => {
		seedShared();
		standbyWrites("MEMORY.md", "facts\nstandby fact\n");
		// The primary's gateway truncated MEMORY.md and has not written it yet: an emptied file is never
		// committed until it stays empty (emptyHoldSeconds), so it stands where the merge writes and git
		// refuses the final fast-forward before writing anything.
		repos.write(repos.work, "MEMORY.md", "");
		const before = {
			head: git(repos.work, "rev-parse", "HEAD"),
			status: git(repos.work, "status", "--porcelain"),
			file: readFileSync(join(repos.work, "MEMORY.md"), "utf8"),
		};
		const out = await runStep(sync(), ctx);
		expect(out.status).toBe("failed");
		expect(out.error).toMatch(/commit your changes/);
		expect(out.error).toMatch(/nothing changed/);
		expect(git(repos.work, "rev-parse", "HEAD")).toBe(before.head);
		expect(git(repos.work, "status", "--porcelain")).toBe(before.status);
		expect(readFileSync(join(repos.work, "MEMORY.md"), "utf8")).toBe(before.file);
		expect(git(repos.remote, "log", "-1", "--format=%s", "main")).toBe("standby: MEMORY.md");
	});

	// The gateway writes today's memory file every few seconds: it is never quiet for the settle time,
	// and it is exactly the file the standby also wrote while it served. Tracked and new files alike.
	it.each([
		{ what: "a tracked file both sides changed", file: DAY, seed: true },
		{ what: "a new file both sides created", file: "memory/2026-11-30.md", seed: false },
	])("a file still being written is no reason to fail the sync: $what", async ({ file, seed }) => {
		if (seed) seedShared();
		else mkdirSync(join(repos.work, "memory"), { recursive: true });
		mkdirSync(join(repos.other, "memory"), { recursive: true });
		standbyWrites(file, "morning\nstandby afternoon\n");
		repos.write(repos.work, file, "morning\nprimary, written a moment ago\n");
		const out = await runStep(sync({ settleSeconds: 300 }), ctx);
		expect(out.status, out.error).toBe("succeeded");
		expect(out.output).toMatch(/still being written/);
		expect(out.output).toMatch(/WARNING: conflicting paths/);
		expect(out.output).toContain(file);
		expect(repos.read(repos.work, file)).toBe("morning\nstandby afternoon\n");
		expect(git(repos.work, "status", "--porcelain")).toBe("");
		const [saved] = failoverBranches();
		expect(saved).toMatch(/^failover\/primary-/);
		expect(remoteFile(saved ?? "", file)).toBe("morning\nprimary, written a moment ago");
		expect(git(repos.remote, "rev-parse", "main")).toBe(git(repos.work, "rev-parse", "HEAD"));
	});

	it("fetch fails: merges the warm copy replication fetched earlier", async () => {
		standbyWrites("standby.md", "warm\n");
		git(
			repos.work,
			"fetch",
			"-q",
			"origin",
			"+refs/heads/main:refs/remotes/failover-gateway/warm/main",
		);
		git(repos.work, "remote", "set-url", "origin", join(root.path, "gone.git"));
		const out = await runStep(sync(), ctx);
		expect(out.status, out.error).toBe("succeeded");
		expect(out.output).toContain("merging the warm copy");
		expect(repos.read(repos.work, "standby.md")).toBe("warm\n");
	});
});

describe("git-sync on promote", { timeout: 60_000 }, () => {
	it("a standby whose tree diverged keeps its work on failover/standby-<time> and takes the primary's", async () => {
		// `work` plays the standby here: it committed something locally (an earlier failover) that main lacks.
		const standbyCtx: StepContext = { ...ctx, action: "promote", side: "standby" };
		repos.write(repos.work, "MEMORY.md", "standby's old local edit\n");
		git(repos.work, "add", "-A");
		commitAs(repos.work, "ahead after a failover branch");
		repos.pushFromOther("MEMORY.md", "primary's replicated memory\n");
		const out = await runStep(sync(), standbyCtx);
		expect(out.status, out.error).toBe("succeeded");
		expect(repos.read(repos.work, "MEMORY.md")).toBe("primary's replicated memory\n");
		const [saved] = failoverBranches();
		expect(saved).toMatch(/^failover\/standby-/);
		expect(remoteFile(saved ?? "", "MEMORY.md")).toBe("standby's old local edit");
	});
});

describe("parseMergeTree", () => {
	it("reads the tree and the conflicted paths, ignoring the messages", () => {
		const tree = "a".repeat(40);
		expect(parseMergeTree(`${tree}\0f\0g\0f\0\0 1\0f\0Auto-merging f\n\0`)).toEqual({
			tree,
			conflicts: ["f", "g"],
		});
		expect(parseMergeTree(`${tree}\0`)).toEqual({ tree, conflicts: [] });
	});
});
