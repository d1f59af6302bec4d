// Fault kinds of git auto-sync, each on a real repository with a bare remote (issue 10, "Bad input and faults").
import {
	existsSync,
	mkdirSync,
	rmSync,
	symlinkSync,
	truncateSync,
	utimesSync,
	writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isOwnGitWrite } from "../../../agent/src/replication/watch";
import { type GitCapture, gitCapture } from "../../../agent/src/steps/git-session";
import { commitAs, git } from "../steps/helpers";
import { rig, useReplicationCase } from "./helpers";

const t = useReplicationCase("faults");

const remoteHas = (file: string) => {
	try {
		git(t.repos.remote, "cat-file", "-e", `main:${file}`);
		return true;
	} catch {
		return false;
	}
};
const remoteFile = (file: string) => git(t.repos.remote, "show", `main:${file}`);

async function active(config: Record<string, unknown> = {}, gitImpl?: GitCapture) {
	const r = rig(t.repos.work, "primary", t.wd, t.c, config, gitImpl);
	await t.wd.grant(r.lease, { active: "primary", term: 1 });
	return r;
}

describe("half-written files", { timeout: 60_000 }, () => {
	it("a file still being written (not quiet for settleSeconds) waits; the quiet ones go out", async () => {
		const r = await active({ settleSeconds: 5 });
		t.repos.write(t.repos.work, "quiet.md", "done\n");
		utimesSync(
			join(t.repos.work, "quiet.md"),
			new Date(t.c.now() - 10_000),
			new Date(t.c.now() - 10_000),
		);
		t.repos.write(t.repos.work, "busy.md", "half");
		await r.replicator.cycle();
		expect(remoteHas("quiet.md")).toBe(true);
		expect(remoteHas("busy.md")).toBe(false);
		t.c.advance(6_000);
		await t.wd.grant(r.lease, { active: "primary", term: 1 });
		await r.replicator.cycle();
		expect(remoteFile("busy.md")).toBe("half");
	});

	it("a file that never goes quiet (appended every second) is still committed within the interval", async () => {
		const r = await active({ settleSeconds: 3, replicateIntervalSeconds: 10 });
		const file = join(t.repos.work, "log.md");
		// Written "just now" before every look, as a writer appending every second would be.
		const touch = () => utimesSync(file, new Date(t.c.now()), new Date(t.c.now()));
		t.repos.write(t.repos.work, "log.md", "line 1\n");
		touch();
		await r.replicator.cycle();
		expect(remoteHas("log.md")).toBe(false);
		t.c.advance(2_000);
		touch();
		await r.replicator.cycle();
		expect(remoteHas("log.md")).toBe(false);
		t.c.advance(3_100); // it has now waited half the interval
		touch();
		await t.wd.grant(r.lease, { active: "primary", term: 1 });
		await r.replicator.cycle();
		expect(remoteFile("log.md")).toBe("line 1");
	});

	it("a tracked file that shrank to empty is not committed unless it stays empty", async () => {
		const r = await active({ emptyHoldSeconds: 60 });
		truncateSync(join(t.repos.work, "README.md"), 0); // truncate, then the write has not come yet
		await r.replicator.cycle();
		expect(remoteFile("README.md")).toBe("workspace");
		// The write comes: the empty state was never replicated.
		t.repos.write(t.repos.work, "README.md", "workspace, rewritten\n");
		await r.replicator.cycle();
		expect(remoteFile("README.md")).toBe("workspace, rewritten");
		// Emptied for real: committed once it has stayed empty for emptyHoldSeconds.
		truncateSync(join(t.repos.work, "README.md"), 0);
		await r.replicator.cycle();
		expect(remoteFile("README.md")).toBe("workspace, rewritten");
		t.c.advance(61_000);
		await t.wd.grant(r.lease, { active: "primary", term: 1 });
		await r.replicator.cycle();
		expect(remoteFile("README.md")).toBe("");
	});
});

describe("locks and leftovers", { timeout: 60_000 }, () => {
	it("a stale index.lock (old, no live git) is cleared with an event; a young one is left and reported", async () => {
		const lock = join(t.repos.work, ".git", "index.lock");
		writeFileSync(lock, "");
		const r = await active({ gitTimeoutSeconds: 120 });
		t.repos.write(t.repos.work, "a.md", "x\n");
		const young = await r.replicator.cycle();
		expect(young.problem?.kind).toBe("index-locked");
		expect(existsSync(lock)).toBe(true);
		const old = new Date(Date.now() - 200_000);
		utimesSync(lock, old, old);
		const report = await r.replicator.cycle();
		expect(existsSync(lock)).toBe(false);
		expect(report.problem).toBeNull();
		expect(remoteFile("a.md")).toBe("x");
		expect(r.log.lines.some((l) => l.msg === "replication: cleared a stale git lock")).toBe(true);
	});

	it("an old lock that a live git may own is never removed", async () => {
		const lock = join(t.repos.work, ".git", "index.lock");
		writeFileSync(lock, "");
		const old = new Date(Date.now() - 200_000);
		utimesSync(lock, old, old);
		const { Replicator } = await import("../../../agent/src/replication/replicator");
		const { LeaseHolder } = await import("../../../agent/src/replication/lease-holder");
		const { ReplicationConfigSchema } = await import("../../../agent/src/replication/config");
		const lease = new LeaseHolder({ publicKeys: t.wd.keys, side: "primary", now: t.c.now });
		await t.wd.grant(lease, { active: "primary", term: 1 });
		const r = new Replicator({
			workspace: t.repos.work,
			side: "primary",
			config: ReplicationConfigSchema.parse({ enabled: true, settleSeconds: 0 }),
			lease,
			log: { debug() {}, info() {}, warn() {}, error() {} },
			now: t.c.now,
			liveGit: async () => true,
		});
		const report = await r.cycle();
		expect(report.problem?.kind).toBe("index-locked");
		expect(report.problem?.message).toMatch(/live git/);
		expect(existsSync(lock)).toBe(true);
	});

	it("a merge left half-done by anything is detected and aborted before the cycle", async () => {
		t.repos.pushFromOther("README.md", "theirs\n");
		t.repos.write(t.repos.work, "README.md", "ours\n");
		git(t.repos.work, "add", "-A");
		commitAs(t.repos.work, "ours");
		git(t.repos.work, "fetch", "-q", "origin");
		try {
			git(t.repos.work, "-c", "user.name=x", "-c", "user.email=x@y", "merge", "origin/main");
		} catch {
			// conflict: MERGE_HEAD and markers are left behind, as by a killed or interrupted merge
		}
		expect(existsSync(join(t.repos.work, ".git", "MERGE_HEAD"))).toBe(true);
		const r = await active();
		const report = await r.replicator.cycle();
		expect(existsSync(join(t.repos.work, ".git", "MERGE_HEAD"))).toBe(false);
		expect(r.log.lines.some((l) => l.msg === "replication: aborted a leftover git operation")).toBe(
			true,
		);
		// Then the cycle goes on: ours is committed, the remote moved, so it merges for real.
		expect(report.problem?.kind ?? null).toBe("merge-conflicts");
		expect(remoteFile("README.md")).toBe("theirs");
	});
});

describe("content that must not be replicated", { timeout: 60_000 }, () => {
	it("size cap, nested repository, dangling symlink, credentials, caches: refused once each; the rest replicates", async () => {
		const r = await active({ maxFileBytes: 1_024 });
		const w = t.repos.work;
		writeFileSync(join(w, "big.bin"), Buffer.alloc(4_096));
		mkdirSync(join(w, "nested"));
		git(join(w, "nested"), "init", "-q");
		writeFileSync(join(w, "nested", "x"), "x");
		symlinkSync(join(w, "nowhere"), join(w, "dangling"));
		writeFileSync(join(w, ".env"), "TOKEN=secret\n");
		writeFileSync(join(w, "deploy.pem"), "-----BEGIN-----\n");
		mkdirSync(join(w, "node_modules", "pkg"), { recursive: true });
		writeFileSync(join(w, "node_modules", "pkg", "index.js"), "");
		mkdirSync(join(w, ".venv"));
		writeFileSync(join(w, ".venv", "pyvenv.cfg"), "");
		t.repos.write(w, "MEMORY.md", "kept\n");
		await r.replicator.cycle();
		expect(remoteFile("MEMORY.md")).toBe("kept");
		for (const refused of ["big.bin", "nested/x", "dangling", ".env", "deploy.pem"]) {
			expect(remoteHas(refused), refused).toBe(false);
		}
		expect(remoteHas("node_modules/pkg/index.js")).toBe(false);
		const refusedPaths = r.replicator.status().refused;
		for (const p of [
			"big.bin",
			"nested/",
			"dangling",
			".env",
			"deploy.pem",
			"node_modules/",
			".venv/",
		]) {
			expect(refusedPaths, p).toContain(p);
		}
		const reports = () => r.log.lines.filter((l) => l.msg === "replication: path not replicated");
		const count = reports().length;
		t.repos.write(w, "MEMORY.md", "kept, twice\n");
		await r.replicator.cycle();
		expect(reports().length).toBe(count); // each refusal reported once
		expect(remoteFile("MEMORY.md")).toBe("kept, twice");
	});

	it("the managed ignore block leaves the operator's own exclude lines alone", async () => {
		const exclude = join(t.repos.work, ".git", "info", "exclude");
		writeFileSync(exclude, "# mine\nscratch/\n");
		const r = await active({ ignore: ["*.log"] });
		await r.replicator.cycle();
		await r.replicator.cycle();
		const { readFileSync } = await import("node:fs");
		const text = readFileSync(exclude, "utf8");
		expect(text.startsWith("# mine\nscratch/\n")).toBe(true);
		expect(text.match(/>>> failover-gateway/g)).toHaveLength(1);
		expect(text).toContain("*.log");
	});
});

describe("disk full and mass deletion", { timeout: 60_000 }, () => {
	it("a full disk mid-commit: reported, the repository consistent, the change committed on a later cycle", async () => {
		const real = gitCapture(t.repos.work, { identity: { name: "t", email: "t@t" } }, 60_000);
		let full = true;
		const flaky: GitCapture = async (args, opts) => {
			if (full && args.includes("commit")) {
				return {
					kind: "exited",
					code: 128,
					stdout: "",
					stderr: "error: unable to write file .git/objects/ab/cdef: No space left on device",
				};
			}
			return real(args, opts);
		};
		const r = await active({}, flaky);
		t.repos.write(t.repos.work, "a.md", "x\n");
		const report = await r.replicator.cycle();
		expect(report.problem?.kind).toBe("disk-full");
		expect(report.problem?.message).toContain("repository consistent");
		// Consistent: nothing referenced is missing (the unstaged blob `git add` wrote is dangling, as gc expects).
		expect(git(t.repos.work, "fsck", "--connectivity-only", "--no-dangling")).toBe("");
		expect(git(t.repos.work, "diff", "--cached", "--name-only")).toBe("");
		expect(remoteHas("a.md")).toBe(false);
		full = false;
		const later = await r.replicator.cycle();
		expect(later.problem).toBeNull();
		expect(remoteFile("a.md")).toBe("x");
	});

	it("deleting more than the set share of tracked files is held for the operator, not replicated", async () => {
		const w = t.repos.work;
		mkdirSync(join(w, "memory"));
		for (let i = 0; i < 12; i++) t.repos.write(w, `memory/${i}.md`, `${i}\n`);
		git(w, "add", "-A");
		commitAs(w, "twelve files");
		git(w, "push", "-q", "origin", "main");
		const r = await active({ massDeleteMinFiles: 5, massDeleteShare: 0.5 });
		rmSync(join(w, "memory"), { recursive: true });
		t.repos.write(w, "new.md", "still replicated\n");
		const report = await r.replicator.cycle();
		expect(report.problem?.kind).toBe("mass-deletion-held");
		expect(remoteFile("memory/3.md")).toBe("3");
		expect(remoteFile("new.md")).toBe("still replicated");
		// A small deletion is ordinary work.
		git(w, "checkout", "-q", "--", "memory");
		rmSync(join(w, "memory", "0.md"));
		await r.replicator.cycle();
		expect(remoteHas("memory/0.md")).toBe(false);
	});
});

describe("the watcher", () => {
	it("ignores git's own writes", () => {
		for (const p of [".git", ".git/index", ".git/objects/ab/cd", "sub/.git/HEAD"]) {
			expect(isOwnGitWrite(p), p).toBe(true);
		}
		for (const p of ["MEMORY.md", "memory/2026-11-29.md", ".gitignore", "git/notes.md"]) {
			expect(isOwnGitWrite(p), p).toBe(false);
		}
	});
});
