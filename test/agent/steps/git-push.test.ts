import { chmodSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { failoverBranchName } from "../../../agent/src/steps/git-push";
import { runStep, type StepContext } from "../../../agent/src/steps/run-step";
import { StepSchema } from "../../../agent/src/steps/schema";
import { commitAs, git, isolateGitConfig, makeRepos, type Repos, tempDir } from "./helpers";

const base = tempDir("git-push");
let restoreEnv: () => void;
beforeAll(() => {
	restoreEnv = isolateGitConfig(base.path);
});
afterAll(() => {
	restoreEnv();
	base.remove();
});

const FIXED_NOW = Date.parse("2026-05-01T12:34:56.789Z");

let root: ReturnType<typeof tempDir>;
let repos: Repos;
let ctx: StepContext;
beforeEach(() => {
	root = tempDir("push-case");
	repos = makeRepos(root.path);
	ctx = {
		workspace: repos.work,
		gatewayUnit: { name: "openclaw-gateway.service", scope: "system" },
		readyUrl: "http://127.0.0.1:9/readyz",
		action: "demote",
		now: () => FIXED_NOW,
	};
});
afterEach(() => root.remove());

const push = (fields: Record<string, unknown> = {}) =>
	StepSchema.parse({ type: "git-push", ...fields });
const remoteRev = (ref: string) => git(repos.remote, "rev-parse", ref);
const remoteFile = (ref: string, file: string) => git(repos.remote, "show", `${ref}:${file}`);

describe("git-push step", () => {
	it("commits everything (new, changed, deleted) and pushes it", async () => {
		repos.write(repos.work, "MEMORY.md", "learned while active\n");
		repos.write(repos.work, "README.md", "edited\n");
		const outcome = await runStep(push(), ctx);
		expect(outcome.status).toBe("succeeded");
		expect(outcome.output).toContain("pushed");
		expect(remoteRev("main")).toBe(git(repos.work, "rev-parse", "HEAD"));
		expect(remoteFile("main", "MEMORY.md")).toBe("learned while active");
		expect(remoteFile("main", "README.md")).toBe("edited");
		expect(git(repos.work, "status", "--porcelain")).toBe("");
		expect(git(repos.remote, "log", "-1", "--format=%s", "main")).toBe(
			"failover-gateway: demote at 2026-05-01T12:34:56.789Z",
		);

		// A deletion is work too.
		rmSync(join(repos.work, "README.md"));
		const deleted = await runStep(push({ message: "drop readme" }), ctx);
		expect(deleted.status).toBe("succeeded");
		expect(git(repos.remote, "ls-tree", "--name-only", "main")).toBe("MEMORY.md");
	});

	it("uses a fallback identity only when none is configured", async () => {
		repos.write(repos.work, "a.md", "1\n");
		expect((await runStep(push(), ctx)).status).toBe("succeeded");
		expect(git(repos.remote, "log", "-1", "--format=%an <%ae> / %cn <%ce>", "main")).toBe(
			"failover-gateway <failover-gateway@localhost> / failover-gateway <failover-gateway@localhost>",
		);

		git(repos.work, "config", "user.name", "Standby Operator");
		git(repos.work, "config", "user.email", "ops@example.test");
		repos.write(repos.work, "b.md", "2\n");
		expect((await runStep(push(), ctx)).status).toBe("succeeded");
		expect(git(repos.remote, "log", "-1", "--format=%an <%ae>", "main")).toBe(
			"Standby Operator <ops@example.test>",
		);
	});

	it("succeeds with nothing to commit and nothing to push", async () => {
		const before = remoteRev("main");
		const outcome = await runStep(push(), ctx);
		expect(outcome.status).toBe("succeeded");
		expect(outcome.output).toContain("nothing to push");
		expect(remoteRev("main")).toBe(before);
		expect(git(repos.remote, "branch", "--list", "failover/*")).toBe("");
	});

	it("pushes earlier local commits even when the tree is clean", async () => {
		repos.write(repos.work, "c.md", "committed earlier\n");
		git(repos.work, "add", "-A");
		commitAs(repos.work, "earlier");
		const outcome = await runStep(push(), ctx);
		expect(outcome.status).toBe("succeeded");
		expect(remoteRev("main")).toBe(git(repos.work, "rev-parse", "HEAD"));
	});

	it("does not invent a failover branch when the workspace is merely behind", async () => {
		const theirs = repos.pushFromOther("theirs.md", "newer\n");
		const outcome = await runStep(push(), ctx);
		expect(outcome.status).toBe("succeeded");
		expect(outcome.output).toContain("already contains");
		expect(remoteRev("main")).toBe(theirs);
		expect(git(repos.remote, "branch", "--list", "failover/*")).toBe("");
	});

	it("on a rejected push, saves the same commit on failover/<time> and loses nothing", async () => {
		const theirs = repos.pushFromOther("primary.md", "the primary moved on\n");
		repos.write(repos.work, "outage.md", "written while the standby was active\n");

		const outcome = await runStep(push(), ctx);
		const branch = "failover/2026-05-01T12-34-56.789Z";
		expect(failoverBranchName(FIXED_NOW)).toBe(branch);
		expect(outcome.status).toBe("succeeded");
		expect(outcome.output).toContain(`saved on branch ${branch}`);
		// The rescue branch holds exactly the workspace's commit, with the file in it.
		const mine = git(repos.work, "rev-parse", "HEAD");
		expect(remoteRev(branch)).toBe(mine);
		expect(remoteFile(branch, "outage.md")).toBe("written while the standby was active");
		// Nothing was forced: main still has the primary's commit; the workspace still has its file.
		expect(remoteRev("main")).toBe(theirs);
		expect(repos.read(repos.work, "outage.md")).toBe("written while the standby was active\n");
		expect(git(repos.work, "status", "--porcelain")).toBe("");
	});

	it("when a remote hook declines the branch, saves the work on failover/<time> too", async () => {
		const hook = join(repos.remote, "hooks", "pre-receive");
		writeFileSync(
			hook,
			'#!/bin/sh\nwhile read old new ref; do\n  [ "$ref" = refs/heads/main ] && { echo "main is protected"; exit 1; }\ndone\nexit 0\n',
		);
		chmodSync(hook, 0o755);
		const before = remoteRev("main");
		repos.write(repos.work, "f.md", "declined but kept\n");

		const outcome = await runStep(push(), ctx);
		expect(outcome.status).toBe("succeeded");
		expect(outcome.output).toContain("main is protected");
		expect(remoteFile("failover/2026-05-01T12-34-56.789Z", "f.md")).toBe("declined but kept");
		expect(remoteRev("main")).toBe(before);
	});

	it("when the remote is unreachable, fails but keeps the work committed locally", async () => {
		git(repos.work, "remote", "set-url", "origin", join(root.path, "gone.git"));
		repos.write(repos.work, "d.md", "precious\n");
		const outcome = await runStep(push(), ctx);
		expect(outcome.status).toBe("failed");
		expect(outcome.error).toContain("git push to origin/main failed");
		expect(outcome.error).toContain("committed locally");
		expect(git(repos.work, "show", "HEAD:d.md")).toBe("precious");
	});

	it("never shows the credentials of a remote URL (step errors reach the status page and notifications)", async () => {
		const remote = "http://x-access-token:s3cret-token@127.0.0.1:9/workspace.git";
		repos.write(repos.work, "d.md", "precious\n");
		const outcome = await runStep(push({ remote }), ctx);
		expect(outcome.status).toBe("failed");
		expect(outcome.error).toContain("git push to http://127.0.0.1:9/workspace.git/main failed");
		expect(outcome.output).toContain("$ git push --porcelain http://127.0.0.1:9/workspace.git");
		expect(`${outcome.error}\n${outcome.output}`).not.toContain("s3cret-token");
	});

	it("pushes to a named branch", async () => {
		repos.write(repos.work, "e.md", "to a branch\n");
		const outcome = await runStep(push({ branch: "standby-work" }), ctx);
		expect(outcome.status).toBe("succeeded");
		expect(remoteFile("standby-work", "e.md")).toBe("to a branch");
	});

	it("pushes from a detached HEAD when the branch is configured, and refuses otherwise", async () => {
		git(repos.work, "checkout", "-q", "--detach");
		repos.write(repos.work, "g.md", "detached work\n");
		const unnamed = await runStep(push(), ctx);
		expect(unnamed.status).toBe("failed");
		expect(unnamed.error).toContain("detached HEAD");
		const named = await runStep(push({ branch: "main" }), ctx);
		expect(named.status).toBe("succeeded");
		expect(remoteFile("main", "g.md")).toBe("detached work");
	});

	it("fails clearly in a directory that is not a repository, even with a branch set", async () => {
		const plain = tempDir("push-not-a-repo");
		try {
			const outcome = await runStep(push({ branch: "main" }), { ...ctx, workspace: plain.path });
			expect(outcome.status).toBe("failed");
			expect(outcome.error).toContain("is not a git repository");
		} finally {
			plain.remove();
		}
	});

	it("respects .gitignore", async () => {
		repos.write(repos.work, ".gitignore", "*.tmp\n");
		repos.write(repos.work, "cache.tmp", "junk\n");
		expect((await runStep(push(), ctx)).status).toBe("succeeded");
		expect(git(repos.remote, "ls-tree", "--name-only", "main")).not.toContain("cache.tmp");
	});

	it("handles a brand-new empty repository (nothing, then a first commit)", async () => {
		const emptyRemote = join(root.path, "empty.git");
		const fresh = join(root.path, "fresh");
		git(root.path, "init", "-q", "--bare", "-b", "main", emptyRemote);
		git(root.path, "init", "-q", "-b", "main", fresh);
		git(fresh, "remote", "add", "origin", emptyRemote);
		const freshCtx = { ...ctx, workspace: fresh };

		const nothing = await runStep(push(), freshCtx);
		expect(nothing.status).toBe("succeeded");
		expect(nothing.output).toContain("nothing to commit");

		repos.write(fresh, "first.md", "first\n");
		const first = await runStep(push(), freshCtx);
		expect(first.status).toBe("succeeded");
		expect(git(emptyRemote, "show", "main:first.md")).toBe("first");
	});
});
