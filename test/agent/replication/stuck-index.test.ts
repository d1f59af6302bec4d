// A cycle cut off between `git add` and a finished `git commit` must not stall every later cycle (a
// killed commit's ref lock, a staged index, git's "Please commit your changes or stash them" forever).
import { chmodSync, existsSync, mkdirSync, utimesSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { repairRepository } from "../../../agent/src/replication/repo-health";
import { type GitCapture, gitCapture } from "../../../agent/src/steps/git-session";
import { commitAs, git } from "../steps/helpers";
import { rig, useReplicationCase } from "./helpers";

const t = useReplicationCase("stuck-index");

/** The e2e's three files: a log appended, a daily memory file, MEMORY.md rewritten whole. */
const FILES = ["writer.log", "memory/2026-11-29.md", "MEMORY.md"] as const;

const realGit = () =>
	gitCapture(
		t.repos.work,
		{ identity: { name: "failover-gateway", email: "fg@localhost" } },
		60_000,
	);
const staged = () => git(t.repos.work, "diff", "--cached", "--name-only");
const remoteFile = (file: string) => git(t.repos.remote, "show", `main:${file}`);

/**
 * The failback's shape: this side holds an unpushed commit, the other side served meanwhile (main moved,
 * writer.log changed there too), and this side has written its three files since.
 */
function divergedWithWork(): void {
	git(t.repos.other, "pull", "-q", "--no-rebase");
	t.repos.pushFromOther("writer.log", "standby line\n");
	t.repos.write(t.repos.work, "unpushed.md", "committed before the crash\n");
	git(t.repos.work, "add", "unpushed.md");
	commitAs(t.repos.work, "unpushed");
	mkdirSync(join(t.repos.work, "memory"), { recursive: true });
	for (const f of FILES) t.repos.write(t.repos.work, f, `primary ${f}\n`);
}

async function active(config: Record<string, unknown> = {}, gitImpl?: GitCapture) {
	const r = rig(t.repos.work, "primary", t.wd, t.c, config, gitImpl);
	await t.wd.grant(r.lease, { active: "primary", term: 2 });
	return r;
}

/**
 * Replicated: the unpushed commit and the files only this side wrote are on the remote's main, writer.log
 * (both sides wrote it) has the standby's version there and ours on the pushed failover branch; nothing
 * is left staged or unpushed.
 */
function expectAllReplicated(): void {
	for (const f of FILES.slice(1)) expect(remoteFile(f)).toBe(`primary ${f}`);
	expect(remoteFile("writer.log")).toBe("standby line");
	const saved = git(
		t.repos.remote,
		"for-each-ref",
		"--format=%(refname:short)",
		"refs/heads/failover/",
	);
	expect(saved).toMatch(/^failover\/primary-/);
	expect(git(t.repos.remote, "show", `${saved.split("\n")[0]}:writer.log`)).toBe(
		"primary writer.log",
	);
	expect(remoteFile("unpushed.md")).toBe("committed before the crash");
	expect(git(t.repos.work, "status", "--porcelain")).toBe("");
	expect(git(t.repos.work, "rev-parse", "HEAD")).toBe(git(t.repos.remote, "rev-parse", "main"));
}

describe("a commit cut off mid-way", { timeout: 60_000 }, () => {
	it("SIGKILLed inside its ref update (a ref lock left, files staged): the index is unstaged, the lock is named, and once stale it is cleared and everything is pushed", async () => {
		divergedWithWork();
		// git runs this hook with the branch's lock taken: it kills its git there, once, as a crash would.
		const marker = join(t.repos.work, ".git", "kill-next-commit");
		writeFileSync(marker, "");
		const hook = join(t.repos.work, ".git", "hooks", "reference-transaction");
		writeFileSync(
			hook,
			`#!/bin/sh\ncat >/dev/null\nif [ "$1" = prepared ] && [ -e '${marker}' ]; then rm -f '${marker}'; kill -9 $PPID; fi\nexit 0\n`,
		);
		chmodSync(hook, 0o755);
		const r = await active({ gitTimeoutSeconds: 120 });

		const first = await r.replicator.cycle();
		// The killed transaction held HEAD's lock and the branch's (which ones depends on git's version).
		const locks = [join(".git", "HEAD.lock"), join(".git", "refs", "heads", "main.lock")]
			.map((p) => join(t.repos.work, p))
			.filter((p) => existsSync(p));
		const lock = locks[0];
		if (lock === undefined) throw new Error("the killed commit left no ref lock");
		expect(first.pushedTo).toBeNull();
		// Nothing is left staged for the next cycle's merge to trip over, and the status names the lock.
		expect(staged()).toBe("");
		expect(first.problem?.kind).toBe("index-locked");
		expect(first.problem?.message).toContain(lock);

		// Young: a live git may own it; left alone and reported.
		t.c.advance(1_000);
		await t.wd.grant(r.lease, { active: "primary", term: 2 });
		const young = await r.replicator.cycle();
		expect(young.problem?.kind).toBe("index-locked");
		expect(locks.every((l) => existsSync(l))).toBe(true);

		const old = new Date(Date.now() - 200_000);
		for (const l of locks) utimesSync(l, old, old);
		t.c.advance(1_000);
		await t.wd.grant(r.lease, { active: "primary", term: 2 });
		const recovered = await r.replicator.cycle();
		expect(locks.some((l) => existsSync(l))).toBe(false);
		expect(recovered.pushedTo).toBe("main");
		expectAllReplicated();
		// Both sides wrote writer.log: the standby's line is on main, ours on the saved branch.
		expect(recovered.conflicts).toContain("writer.log");
	});

	it.each([
		["timed out (the deadline hit while it ran)", { kind: "timeout", timeoutMs: 0, stderr: "" }],
		[
			"exited with an error",
			{ kind: "exited", code: 128, stdout: "", stderr: "fatal: unable to write new index file" },
		],
		["could not be started", { kind: "spawn-failed", error: "spawn git EAGAIN" }],
	] as const)(
		"a commit that %s leaves nothing staged; the next cycle commits and pushes",
		async (_, outcome) => {
			const real = realGit();
			let failCommits = 1;
			// `git add` ran for real; the commit fails without running, once.
			const wrapped: GitCapture = (args, opts) => {
				if (args[0] === "commit" && failCommits > 0) {
					failCommits--;
					return Promise.resolve(outcome);
				}
				return real(args, opts);
			};
			t.repos.write(t.repos.work, "MEMORY.md", "remember\n");
			const r = await active({}, wrapped);
			const first = await r.replicator.cycle();
			expect(first.committed).toBeNull();
			expect(first.problem?.kind).toBe("commit-failed");
			expect(staged()).toBe("");
			expect(git(t.repos.work, "status", "--porcelain")).toBe("?? MEMORY.md");
			t.c.advance(1_000);
			await t.wd.grant(r.lease, { active: "primary", term: 2 });
			const next = await r.replicator.cycle();
			expect(next.problem).toBeNull();
			expect(next.pushedTo).toBe("main");
			expect(remoteFile("MEMORY.md")).toBe("remember");
		},
	);

	it("files left staged by a cycle killed between `git add` and `git commit` (no lock) are committed, merged and pushed by the next cycle", async () => {
		divergedWithWork();
		git(t.repos.work, "add", "--", ...FILES);
		const r = await active();
		const report = await r.replicator.cycle();
		expect(report.problem?.kind ?? null).not.toBe("merge-failed");
		expect(report.pushedTo).toBe("main");
		expectAllReplicated();
	});

	it("files staged and then written again (index and working tree both differ) go out as last written", async () => {
		divergedWithWork();
		git(t.repos.work, "add", "--", ...FILES);
		for (const f of FILES) t.repos.write(t.repos.work, f, `primary ${f}\n`);
		t.repos.write(t.repos.work, "MEMORY.md", "rewritten after staging\n");
		const r = await active();
		const report = await r.replicator.cycle();
		expect(report.pushedTo).toBe("main");
		expect(remoteFile("MEMORY.md")).toBe("rewritten after staging");
		expect(git(t.repos.work, "status", "--porcelain")).toBe("");
	});
});

describe("repairRepository: every lock file a killed git leaves", { timeout: 60_000 }, () => {
	const kinds = [
		"index.lock",
		"HEAD.lock",
		"ORIG_HEAD.lock",
		"packed-refs.lock",
		"config.lock",
		"refs/heads/main.lock",
		"refs/remotes/failover-gateway/warm/main.lock",
	];
	it.each(kinds)(
		"%s: young or possibly owned is left and reported; stale is cleared",
		async (name) => {
			const gitDir = join(t.repos.work, ".git");
			const lock = join(gitDir, name);
			mkdirSync(dirname(lock), { recursive: true });
			writeFileSync(lock, "");
			const repair = (now: number, live: boolean | "unknown") =>
				repairRepository({
					workspace: t.repos.work,
					gitDir,
					staleLockMs: 120_000,
					now,
					git: realGit(),
					liveGit: async () => live,
				});
			expect(await repair(Date.now(), false)).toEqual([
				expect.objectContaining({ kind: "lock-held", path: lock }),
			]);
			const later = Date.now() + 200_000;
			expect(await repair(later, true)).toEqual([
				expect.objectContaining({ kind: "lock-held", path: lock }),
			]);
			expect(await repair(later, "unknown")).toEqual([
				expect.objectContaining({ kind: "lock-held", path: lock }),
			]);
			expect(existsSync(lock)).toBe(true);
			expect(await repair(later, false)).toEqual([
				expect.objectContaining({ kind: "stale-lock-cleared", path: lock }),
			]);
			expect(existsSync(lock)).toBe(false);
		},
	);
});
