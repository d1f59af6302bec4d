import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { git, isolateGitConfig, makeRepos, type Repos, tempDir } from "../steps/helpers";
import { type Clock, clock, rig, type Watchdog, watchdog } from "./helpers";

const base = tempDir("replicate");
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
	root = tempDir("repl-case");
	repos = makeRepos(root.path);
	c = clock();
	wd = await watchdog(c.now);
});
afterEach(() => root.remove());

const remoteMain = () => git(repos.remote, "rev-parse", "main");
const remoteFile = (file: string) => git(repos.remote, "show", `main:${file}`);

describe("replication while active", { timeout: 60_000 }, () => {
	it("commits and pushes the workspace while holding a fresh lease naming its side", async () => {
		const r = rig(repos.work, "primary", wd, c);
		await wd.grant(r.lease, { active: "primary", term: 3 });
		repos.write(repos.work, "MEMORY.md", "remember this\n");
		const report = await r.replicator.cycle();
		expect(report.problem).toBeNull();
		expect(report.pushedTo).toBe("main");
		expect(remoteFile("MEMORY.md")).toBe("remember this");
		expect(git(repos.remote, "log", "-1", "--format=%s", "main")).toBe(
			"failover-gateway: primary at term 3",
		);
		const s = r.replicator.status();
		expect(s.mode).toBe("active");
		expect(s.pendingCommits).toBe(0);
		expect(s.lastPushAgeMs).toBeLessThan(60_000);
	});

	it("does nothing when nothing changed", async () => {
		const r = rig(repos.work, "primary", wd, c);
		await wd.grant(r.lease, { active: "primary", term: 1 });
		const before = remoteMain();
		const report = await r.replicator.cycle();
		expect(report.committed).toBeNull();
		expect(remoteMain()).toBe(before);
	});
});
