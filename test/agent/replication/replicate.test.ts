// Replication on real repositories with a bare remote: the lease decides main branch or failover branch.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type GitCapture, gitCapture } from "../../../agent/src/steps/git-session";
import { git, isolateGitConfig, tempDir } from "../steps/helpers";
import { clock, rig, useReplicationCase, watchdog } from "./helpers";

const t = useReplicationCase("replicate");

const remoteFile = (ref: string, file: string) => git(t.repos.remote, "show", `${ref}:${file}`);
const remoteBranches = () =>
	git(t.repos.remote, "for-each-ref", "--format=%(refname:short)", "refs/heads").split("\n");

describe("while holding the lease", { timeout: 60_000 }, () => {
	it("commits and pushes to the main branch, naming side and term, and reports it", async () => {
		const r = rig(t.repos.work, "primary", t.wd, t.c);
		await t.wd.grant(r.lease, { active: "primary", term: 3 });
		t.repos.write(t.repos.work, "MEMORY.md", "remember this\n");
		const report = await r.replicator.cycle();
		expect(report.problem).toBeNull();
		expect(report.pushedTo).toBe("main");
		expect(remoteFile("main", "MEMORY.md")).toBe("remember this");
		expect(git(t.repos.remote, "log", "-1", "--format=%s %an", "main")).toBe(
			"failover-gateway: primary at term 3 failover-gateway",
		);
		const s = r.replicator.status();
		expect(s).toMatchObject({ mode: "active", pendingCommits: 0, leaseTerm: 3, problem: null });
		expect(s.lastPushAgeMs).toBeGreaterThanOrEqual(0);
		// Nothing changed: no commit, no push.
		const again = await r.replicator.cycle();
		expect(again.committed).toBeNull();
		expect(again.pushedTo).toBeNull();
	});

	it("merges when the remote moved (the other side served meanwhile), then pushes", async () => {
		const r = rig(t.repos.work, "primary", t.wd, t.c);
		await t.wd.grant(r.lease, { active: "primary", term: 2 });
		t.repos.pushFromOther("other.md", "from the standby\n");
		t.repos.write(t.repos.work, "mine.md", "from the primary\n");
		const report = await r.replicator.cycle();
		expect(report.problem).toBeNull();
		expect(remoteFile("main", "other.md")).toBe("from the standby");
		expect(remoteFile("main", "mine.md")).toBe("from the primary");
		expect(t.repos.read(t.repos.work, "other.md")).toBe("from the standby\n");
	});

	it("a file written between the cycle's commit and its merge is committed as it is, not a failed merge", async () => {
		const real = gitCapture(
			t.repos.work,
			{ identity: { name: "failover-gateway", email: "failover-gateway@localhost" } },
			60_000,
		);
		let writes = 0;
		// The gateway writes MEMORY.md again just before the workspace is moved to the merge, twice in a
		// row (the retry collides too): each time the fast-forward finds uncommitted work where it writes.
		const wrapped: GitCapture = (args, opts) => {
			if (args[0] === "merge" && args[1] === "--ff-only" && writes < 2) {
				writes++;
				t.repos.write(t.repos.work, "MEMORY.md", `primary's memory, write ${writes + 1}\n`);
			}
			return real(args, opts);
		};
		const r = rig(t.repos.work, "primary", t.wd, t.c, {}, wrapped);
		await t.wd.grant(r.lease, { active: "primary", term: 2 });
		t.repos.pushFromOther("MEMORY.md", "standby's memory\n");
		t.repos.write(t.repos.work, "MEMORY.md", "primary's memory, write 1\n");
		const report = await r.replicator.cycle();
		expect(report.problem?.kind).toBe("merge-conflicts");
		expect(report.pushedTo).toBe("main");
		expect(report.conflicts).toEqual(["MEMORY.md"]);
		expect(writes).toBe(2);
		// The notice outlives the next cycle (10 minutes, conflict-notice.test.ts), and lastConflict stays
		// in status until a newer conflict: both are there for the watchdog to report.
		await r.replicator.cycle();
		expect(r.replicator.status().problem?.kind).toBe("merge-conflicts");
		expect(r.replicator.status().lastConflict).toMatchObject({
			by: "replication",
			paths: ["MEMORY.md"],
			savedBranch: expect.stringMatching(/^failover\/primary-/),
		});
		// The standby's version in the tree and on main; the primary's newest on the pushed failover branch.
		expect(remoteFile("main", "MEMORY.md")).toBe("standby's memory");
		expect(git(t.repos.work, "status", "--porcelain")).toBe("");
		const saved = remoteBranches().find((b) => b.startsWith("failover/primary-"));
		expect(remoteFile(saved ?? "", "MEMORY.md")).toBe("primary's memory, write 3");
	});
});

describe("without the lease", { timeout: 60_000 }, () => {
	it("never pushes to main: commits go to a pushed failover/<side>-<time> branch, reported", async () => {
		const r = rig(t.repos.work, "primary", t.wd, t.c);
		await t.wd.grant(r.lease, { active: "primary", term: 5 });
		t.c.advance(31_000); // the watchdog went quiet: the lease ran out
		const before = git(t.repos.remote, "rev-parse", "main");
		mkdirSync(join(t.repos.work, "memory"));
		t.repos.write(t.repos.work, "memory/2026-11-29.md", "written during the outage\n");
		const report = await r.replicator.cycle();
		expect(git(t.repos.remote, "rev-parse", "main")).toBe(before);
		const held = remoteBranches().find((b) => b.startsWith("failover/primary-"));
		expect(held).toBeDefined();
		expect(report.pushedTo).toBe(held);
		expect(remoteFile(held ?? "", "memory/2026-11-29.md")).toBe("written during the outage");
		const s = r.replicator.status();
		expect(s).toMatchObject({ mode: "held", heldBranch: held, pendingCommits: 1 });
		expect(s.problem?.kind).toBe("held");
		expect(git(t.repos.work, "log", "-1", "--format=%s")).toBe(
			"failover-gateway: primary without a lease (held)",
		);
	});

	it("a clock far ahead of the watchdog's: every lease arrives expired; held, with a clock hint", async () => {
		const r = rig(t.repos.work, "primary", t.wd, t.c);
		await t.wd.grant(r.lease, { active: "primary", term: 1, issuedAt: t.c.now() - 120_000 });
		t.repos.write(t.repos.work, "a.md", "x\n");
		const report = await r.replicator.cycle();
		expect(report.problem?.kind).toBe("clock-skew");
		expect(r.replicator.status().problem?.hint).toMatch(/NTP/);
		expect(r.replicator.status().mode).toBe("held");
	});

	it("a lease back at the same term puts the held commits on main (no fragmented history)", async () => {
		const r = rig(t.repos.work, "primary", t.wd, t.c);
		await t.wd.grant(r.lease, { active: "primary", term: 5 });
		t.c.advance(31_000);
		t.repos.write(t.repos.work, "a.md", "held\n");
		await r.replicator.cycle();
		const heldHead = git(t.repos.work, "rev-parse", "HEAD");
		await t.wd.grant(r.lease, { active: "primary", term: 5 });
		const report = await r.replicator.cycle();
		expect(report.pushedTo).toBe("main");
		expect(git(t.repos.remote, "rev-parse", "main")).toBe(heldHead);
		expect(r.replicator.status()).toMatchObject({
			mode: "active",
			heldBranch: null,
			problem: null,
		});
	});

	it("after a promotion (lease names the standby) the old primary's writes never reach main", async () => {
		const r = rig(t.repos.work, "primary", t.wd, t.c);
		await t.wd.grant(r.lease, { active: "primary", term: 1 });
		await t.wd.grant(r.lease, { active: "standby", term: 2 });
		const main = git(t.repos.remote, "rev-parse", "main");
		t.repos.write(t.repos.work, "late.md", "written by a primary that lost the lease\n");
		await r.replicator.cycle();
		expect(git(t.repos.remote, "rev-parse", "main")).toBe(main);
		expect(remoteBranches().some((b) => b.startsWith("failover/primary-"))).toBe(true);
	});

	it("the standby keeps a warm copy: fetch only, working tree untouched, lag reported", async () => {
		const r = rig(t.repos.work, "standby", t.wd, t.c);
		await t.wd.grant(r.lease, { active: "primary", term: 1 });
		const head = git(t.repos.work, "rev-parse", "HEAD");
		t.repos.pushFromOther("one.md", "1\n");
		t.repos.pushFromOther("two.md", "2\n");
		const report = await r.replicator.cycle();
		expect(report.problem).toBeNull();
		expect(git(t.repos.work, "rev-parse", "HEAD")).toBe(head);
		expect(r.replicator.status()).toMatchObject({ mode: "standby", behindCommits: 2 });
		expect(r.replicator.status().lastFetchAt).not.toBeNull();
		// Fetches only once per interval.
		t.repos.pushFromOther("three.md", "3\n");
		await r.replicator.cycle();
		expect(r.replicator.status().behindCommits).toBe(2);
		t.c.advance(30_000);
		await r.replicator.cycle();
		expect(r.replicator.status().behindCommits).toBe(3);
	});
});

describe("a remote or repository that will not cooperate", { timeout: 60_000 }, () => {
	it("a remote that refuses pushes: a clear problem, the commit kept and counted, stall warned", async () => {
		const hook = join(t.repos.remote, "hooks", "pre-receive");
		writeFileSync(hook, "#!/bin/sh\necho 'pushes are closed' >&2\nexit 1\n", { mode: 0o755 });
		const r = rig(t.repos.work, "primary", t.wd, t.c, { stallWarnSeconds: 60 });
		await t.wd.grant(r.lease, { active: "primary", term: 1 });
		t.repos.write(t.repos.work, "a.md", "x\n");
		const first = await r.replicator.cycle();
		expect(first.problem?.kind).toBe("push-rejected");
		expect(r.replicator.status()).toMatchObject({ pendingCommits: 1 });
		const warnings = () => r.log.lines.filter((l) => l.msg === "replication problem").length;
		const afterFirst = warnings();
		await r.replicator.cycle();
		expect(warnings()).toBe(afterFirst); // same reason: not repeated
		t.c.advance(120_000);
		await t.wd.grant(r.lease, { active: "primary", term: 1 });
		await r.replicator.cycle();
		const s = r.replicator.status();
		expect(s.pendingCommits).toBe(1);
		expect(s.oldestPendingAgeMs).toBeGreaterThan(60_000);
		expect(s.problem?.kind).toBe("stalled");
		expect(s.problem?.message).toMatch(
			/over 60 s: .*pre-receive hook declined|over 60 s: .*rejected/,
		);
		const stalledWarnings = warnings();
		await r.replicator.cycle();
		expect(warnings()).toBe(stalledWarnings);
		// Recovery: the remote accepts again, the pending commit goes out, the problem clears.
		writeFileSync(hook, "#!/bin/sh\nexit 0\n", { mode: 0o755 });
		const ok = await r.replicator.cycle();
		expect(ok.pushedTo).toBe("main");
		expect(r.replicator.status()).toMatchObject({ pendingCommits: 0, problem: null });
		expect(remoteFile("main", "a.md")).toBe("x");
	});

	it("an unreachable remote: named as such, commits accumulate, age grows into a stall", async () => {
		git(t.repos.work, "remote", "set-url", "origin", join(t.root.path, "gone.git"));
		const r = rig(t.repos.work, "primary", t.wd, t.c);
		await t.wd.grant(r.lease, { active: "primary", term: 1 });
		t.repos.write(t.repos.work, "a.md", "x\n");
		const report = await r.replicator.cycle();
		expect(report.problem?.kind).toMatch(/remote-missing|remote-unreachable/);
		expect(r.replicator.status().pendingCommits).toBe(1);
		expect(git(t.repos.work, "log", "-1", "--format=%s")).toBe(
			"failover-gateway: primary at term 1",
		);
	});

	it("not a repository, and a detached HEAD: a clear problem each, nothing committed", async () => {
		const plain = tempDir("plain");
		try {
			const r = rig(plain.path, "primary", t.wd, t.c);
			await t.wd.grant(r.lease, { active: "primary", term: 1 });
			expect((await r.replicator.cycle()).problem?.kind).toBe("not-a-repository");
			expect(r.replicator.status().problem?.hint).toMatch(/clone/);
		} finally {
			plain.remove();
		}
		git(t.repos.work, "checkout", "-q", "--detach");
		const r = rig(t.repos.work, "primary", t.wd, t.c);
		await t.wd.grant(r.lease, { active: "primary", term: 1 });
		t.repos.write(t.repos.work, "a.md", "x\n");
		expect((await r.replicator.cycle()).problem?.kind).toBe("detached-head");
		expect(git(t.repos.work, "status", "--porcelain")).toContain("a.md");
	});

	it("no git identity anywhere (sandboxed home): the configured one is passed on the command line", async () => {
		// isolateGitConfig leaves no user.name/email; a plain `git commit` would fail here.
		const r = rig(t.repos.work, "primary", t.wd, t.c, {
			identity: { name: "Gateway Bot", email: "bot@example.test" },
		});
		await t.wd.grant(r.lease, { active: "primary", term: 1 });
		t.repos.write(t.repos.work, "a.md", "x\n");
		expect((await r.replicator.cycle()).problem).toBeNull();
		expect(git(t.repos.remote, "log", "-1", "--format=%an <%ae>", "main")).toBe(
			"Gateway Bot <bot@example.test>",
		);
	});

	it("an ssh remote can never prompt: BatchMode and the known-hosts file are on the command line", async () => {
		const knownHosts = join(t.root.path, "known_hosts");
		writeFileSync(knownHosts, "");
		git(t.repos.work, "remote", "set-url", "origin", "ssh://git@127.0.0.1:1/repo.git");
		const r = rig(t.repos.work, "primary", t.wd, t.c, { sshKnownHostsFile: knownHosts });
		await t.wd.grant(r.lease, { active: "primary", term: 1 });
		t.repos.write(t.repos.work, "a.md", "x\n");
		const started = Date.now();
		const report = await r.replicator.cycle();
		expect(report.problem?.kind).toBe("remote-unreachable");
		expect(Date.now() - started).toBeLessThan(50_000); // it failed; it did not wait for a prompt
	});
});
