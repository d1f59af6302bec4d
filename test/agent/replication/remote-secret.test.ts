// A remote URL's credentials (an access token) never reach the status, the log or a commit message.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { git, isolateGitConfig, makeRepos, type Repos, tempDir } from "../steps/helpers";
import { type Clock, clock, rig, type Watchdog, watchdog } from "./helpers";

const base = tempDir("remote-secret");
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
let c: Clock;
let wd: Watchdog;
beforeEach(async () => {
	root = tempDir("secret-case");
	repos = makeRepos(root.path);
	c = clock();
	wd = await watchdog(c.now);
});
afterEach(() => root.remove());

const SECRET = "ghp_s3cretTOKEN";

describe("a remote URL with credentials", { timeout: 60_000 }, () => {
	it("an unreachable remote: the problem and the log name it without the token", async () => {
		const r = rig(repos.work, "primary", wd, c, {
			remote: `http://oauth2:${SECRET}@127.0.0.1:1/repo.git`,
		});
		await wd.grant(r.lease, { active: "primary", term: 1 });
		repos.write(repos.work, "MEMORY.md", "x\n");
		const report = await r.replicator.cycle();
		expect(report.problem).not.toBeNull();
		const shown = JSON.stringify([report, r.replicator.status(), r.log.lines]);
		expect(shown).toContain("127.0.0.1:1");
		expect(shown).not.toContain(SECRET);
	});

	it("a standby's warm fetch from an unreachable remote: the problem names it without the token", async () => {
		const r = rig(repos.work, "standby", wd, c, {
			remote: `http://oauth2:${SECRET}@127.0.0.1:1/repo.git`,
		});
		await wd.grant(r.lease, { active: "primary", term: 1 });
		// Nothing of its own to hold: the cycle's only remote call is the warm fetch.
		git(repos.work, "update-ref", "refs/remotes/failover-gateway/pushed/main", "HEAD");
		const report = await r.replicator.cycle();
		expect(report.problem?.message).toContain("git fetch from http://127.0.0.1:1/repo.git");
		expect(report.problem).not.toBeNull();
		const shown = JSON.stringify([report, r.replicator.status(), r.log.lines]);
		expect(shown).toContain("127.0.0.1:1");
		expect(shown).not.toContain(SECRET);
	});

	it("a merge with the moved remote: the merge commit message and the status carry no token", async () => {
		// The credentialed URL is rewritten to the local bare remote, so push, fetch and merge really run.
		const url = `https://oauth2:${SECRET}@git.example.test/repo.git`;
		git(repos.work, "config", `url.${repos.remote}.insteadOf`, url);
		const r = rig(repos.work, "primary", wd, c, { remote: url });
		await wd.grant(r.lease, { active: "primary", term: 1 });
		repos.pushFromOther("other.md", "from the standby\n");
		repos.write(repos.work, "MEMORY.md", "mine\n");
		const report = await r.replicator.cycle();
		expect(report.problem).toBeNull();
		expect(report.pushedTo).toBe("main");
		const messages = git(repos.remote, "log", "--format=%B", "main");
		expect(messages).toContain("merges https://git.example.test/repo.git/main");
		const shown = JSON.stringify([messages, report, r.replicator.status(), r.log.lines]);
		expect(shown).not.toContain(SECRET);
	});
});
