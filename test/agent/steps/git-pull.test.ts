import { chownSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { runStep, type StepContext } from "../../../agent/src/steps/run-step";
import { StepSchema } from "../../../agent/src/steps/schema";
import { commitAs, git, isolateGitConfig, makeRepos, type Repos, tempDir } from "./helpers";

const base = tempDir("git-pull");
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
	root = tempDir("pull-case");
	repos = makeRepos(root.path);
	ctx = {
		workspace: repos.work,
		gatewayUnit: { name: "openclaw-gateway.service", scope: "system" },
		readyUrl: "http://127.0.0.1:9/readyz",
		action: "promote",
	};
});
afterEach(() => root.remove());

const pull = (fields: Record<string, unknown> = {}) =>
	StepSchema.parse({ type: "git-pull", ...fields });

describe("git-pull step", () => {
	it("fast-forwards the workspace to what the other side pushed", async () => {
		const theirs = repos.pushFromOther("MEMORY.md", "written during the outage\n");
		const outcome = await runStep(pull(), ctx);
		expect(outcome.status).toBe("succeeded");
		expect(outcome.output).toContain("fast-forwarded to origin/main");
		expect(git(repos.work, "rev-parse", "HEAD")).toBe(theirs);
		expect(repos.read(repos.work, "MEMORY.md")).toBe("written during the outage\n");
	});

	it("keeps uncommitted changes that do not conflict", async () => {
		repos.pushFromOther("a.md", "theirs\n");
		repos.write(repos.work, "scratch.md", "local, uncommitted\n");
		const outcome = await runStep(pull(), ctx);
		expect(outcome.status).toBe("succeeded");
		expect(repos.read(repos.work, "a.md")).toBe("theirs\n");
		expect(repos.read(repos.work, "scratch.md")).toBe("local, uncommitted\n");
	});

	it("succeeds without changes when already up to date or ahead", async () => {
		const upToDate = await runStep(pull(), ctx);
		expect(upToDate.status).toBe("succeeded");
		repos.write(repos.work, "local.md", "mine\n");
		git(repos.work, "add", "-A");
		commitAs(repos.work, "local work");
		const before = git(repos.work, "rev-parse", "HEAD");
		const ahead = await runStep(pull(), ctx);
		expect(ahead.status).toBe("succeeded");
		expect(ahead.output).toContain("already up to date");
		expect(git(repos.work, "rev-parse", "HEAD")).toBe(before);
	});

	it("fails on diverged history and changes nothing", async () => {
		repos.write(repos.work, "local.md", "mine\n");
		git(repos.work, "add", "-A");
		commitAs(repos.work, "local work");
		const before = git(repos.work, "rev-parse", "HEAD");
		repos.pushFromOther("remote.md", "theirs\n");

		const outcome = await runStep(pull(), ctx);
		expect(outcome.status).toBe("failed");
		expect(outcome.error).toContain("not a fast-forward");
		expect(outcome.error).toContain("nothing changed");
		expect(git(repos.work, "rev-parse", "HEAD")).toBe(before);
		expect(git(repos.work, "status", "--porcelain")).toBe("");
		expect(() => repos.read(repos.work, "remote.md")).toThrow();
		expect(repos.read(repos.work, "local.md")).toBe("mine\n");
	});

	it("fails clearly when uncommitted changes would be overwritten, and keeps them", async () => {
		repos.pushFromOther("README.md", "their edit\n");
		repos.write(repos.work, "README.md", "my unsaved edit\n");
		const before = git(repos.work, "rev-parse", "HEAD");

		const outcome = await runStep(pull(), ctx);
		expect(outcome.status).toBe("failed");
		expect(outcome.error).toContain("uncommitted changes in the workspace conflict");
		expect(repos.read(repos.work, "README.md")).toBe("my unsaved edit\n");
		expect(git(repos.work, "rev-parse", "HEAD")).toBe(before);
	});

	it("pulls a named branch from a named remote", async () => {
		git(repos.other, "checkout", "-q", "-b", "handoff");
		repos.write(repos.other, "handoff.md", "from the branch\n");
		git(repos.other, "add", "-A");
		commitAs(repos.other, "handoff");
		git(repos.other, "push", "-q", "origin", "handoff");
		git(repos.work, "remote", "add", "upstream", repos.remote);

		const outcome = await runStep(pull({ remote: "upstream", branch: "handoff" }), ctx);
		expect(outcome.status).toBe("succeeded");
		expect(repos.read(repos.work, "handoff.md")).toBe("from the branch\n");
	});

	it("fails clearly for a branch the remote does not have", async () => {
		const outcome = await runStep(pull({ branch: "no-such-branch" }), ctx);
		expect(outcome.status).toBe("failed");
		expect(outcome.error).toContain("branch no-such-branch does not exist on origin");
	});

	it("fails clearly when the remote cannot be reached", async () => {
		git(repos.work, "remote", "set-url", "origin", join(root.path, "gone.git"));
		const outcome = await runStep(pull(), ctx);
		expect(outcome.status).toBe("failed");
		expect(outcome.error).toContain("git fetch from origin failed");
		expect(outcome.output).toContain("gone.git");
	});

	it("never shows the credentials of a remote URL (step errors reach the status page and notifications)", async () => {
		// Port 9 on loopback refuses at once; the token must not appear in the error or the transcript.
		const remote = "http://x-access-token:s3cret-token@127.0.0.1:9/workspace.git";
		const outcome = await runStep(pull({ remote, branch: "main" }), ctx);
		expect(outcome.status).toBe("failed");
		expect(outcome.error).toContain("git fetch from http://127.0.0.1:9/workspace.git failed");
		expect(outcome.output).toContain(
			"$ git fetch http://127.0.0.1:9/workspace.git refs/heads/main",
		);
		expect(`${outcome.error}\n${outcome.output}`).not.toContain("s3cret-token");
	});

	it("fails clearly on a detached HEAD or a directory that is not a repository", async () => {
		git(repos.work, "checkout", "-q", "--detach");
		const detached = await runStep(pull(), ctx);
		expect(detached.status).toBe("failed");
		expect(detached.error).toContain("detached HEAD");

		const plain = tempDir("not-a-repo");
		try {
			const outcome = await runStep(pull(), { ...ctx, workspace: plain.path });
			expect(outcome.status).toBe("failed");
			expect(outcome.error).toContain("is not a git repository");
		} finally {
			plain.remove();
		}
	});

	// Needs root to hand the checkout to another user; CI runs as root. Issue 10: the workspace is passed
	// as safe.directory on git's command line, so an ownership mismatch under a unit's sandbox no longer
	// stops a promotion with git's "dubious ownership" refusal.
	it.skipIf(process.getuid?.() !== 0)(
		"works in a workspace owned by another user (safe.directory on the command line)",
		async () => {
			const theirs = repos.pushFromOther("MEMORY.md", "theirs\n");
			chownRecursive(repos.work, 65534);
			const outcome = await runStep(pull(), ctx);
			expect(outcome.status, outcome.error).toBe("succeeded");
			expect(git(repos.work, "-c", `safe.directory=${repos.work}`, "rev-parse", "HEAD")).toBe(
				theirs,
			);
		},
	);

	it("fails clearly when the workspace does not exist", async () => {
		const outcome = await runStep(pull(), { ...ctx, workspace: join(root.path, "missing") });
		expect(outcome.status).toBe("failed");
		expect(outcome.error).toContain("working directory not found");
	});
});

function chownRecursive(path: string, uid: number): void {
	chownSync(path, uid, uid);
	for (const entry of readdirSync(path, { withFileTypes: true })) {
		const child = join(path, entry.name);
		if (entry.isDirectory()) chownRecursive(child, uid);
		else chownSync(child, uid, uid);
	}
}
