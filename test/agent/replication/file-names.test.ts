// Hostile workspace file names on real repositories: replicated as they are, or refused and reported, never blocking.
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { commitAs, git, isolateGitConfig, makeRepos, type Repos, tempDir } from "../steps/helpers";
import { type Clock, clock, rig, type Watchdog, watchdog } from "./helpers";

const base = tempDir("file-names");
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
	root = tempDir("names-case");
	repos = makeRepos(root.path);
	c = clock();
	wd = await watchdog(c.now);
});
afterEach(() => root.remove());

const remoteTree = () =>
	git(repos.remote, "ls-tree", "-r", "-z", "--name-only", "main")
		.split("\0")
		.filter((p) => p !== "");
/** A name git stores as bytes that are not UTF-8 (Latin-1 "café"). */
const latin1Name = (dir: string) => Buffer.from(join(dir, "caf\xe9.md"), "latin1");

describe("hostile file names", { timeout: 60_000 }, () => {
	it("option-like, pathspec-magic, newline, normalization twins, long and deep names are pushed as they are", async () => {
		const r = rig(repos.work, "primary", wd, c);
		await wd.grant(r.lease, { active: "primary", term: 1 });
		const names = [
			"-rf",
			"--force",
			"a\nb",
			"é-nfc".normalize("NFC"),
			"é-nfd".normalize("NFD"),
			":(glob)x",
			"*star",
			"[ab]",
			"..x",
			"x".repeat(250),
		];
		for (const n of names) writeFileSync(join(repos.work, n), `${n}\n`);
		const deep = "d/".repeat(60);
		mkdirSync(join(repos.work, deep), { recursive: true });
		writeFileSync(join(repos.work, deep, "f"), "deep\n");
		// Stored as links (their target text), never as the content outside the workspace.
		symlinkSync("/etc/passwd", join(repos.work, "out-link"));
		const report = await r.replicator.cycle();
		expect(report.problem).toBeNull();
		expect(remoteTree().sort()).toEqual(["README.md", ...names, `${deep}f`, "out-link"].sort());
		expect(git(repos.remote, "cat-file", "-p", "main:out-link")).toBe("/etc/passwd");
	});

	it.each([
		["untracked", "untracked"],
		["tracked and modified", "modified"],
		["tracked and deleted", "deleted"],
	] as const)(
		"a non-UTF-8 name (%s) is refused and reported; every other change is still pushed",
		async (_, kind) => {
			const r = rig(repos.work, "primary", wd, c);
			await wd.grant(r.lease, { active: "primary", term: 1 });
			const raw = latin1Name(repos.work);
			writeFileSync(raw, "v1\n");
			if (kind !== "untracked") {
				// As if it came from the other side's history: tracked, then changed here.
				git(repos.work, "add", "-A");
				commitAs(repos.work, "latin-1 name");
				git(repos.work, "push", "-q", "origin", "main");
				if (kind === "modified") writeFileSync(raw, "v2\n");
				else rmSync(raw);
			}
			repos.write(repos.work, "MEMORY.md", "still replicated\n");
			const report = await r.replicator.cycle();
			expect(report.problem).toBeNull();
			expect(report.pushedTo).toBe("main");
			expect(git(repos.remote, "show", "main:MEMORY.md")).toBe("still replicated");
			const status = r.replicator.status();
			expect(status.refused).toHaveLength(1);
			expect(status.refused[0]).toContain("caf");
			expect(r.log.lines).toContainEqual(
				expect.objectContaining({
					level: "warn",
					fields: expect.objectContaining({ reason: "undecodable-name" }),
				}),
			);
		},
	);

	it("a path refused as too large leaves the status's refused list once it is replicated", async () => {
		const r = rig(repos.work, "primary", wd, c, { maxFileBytes: 1024 });
		await wd.grant(r.lease, { active: "primary", term: 1 });
		writeFileSync(join(repos.work, "big.md"), Buffer.alloc(1025, 97));
		writeFileSync(join(repos.work, "exact.md"), Buffer.alloc(1024, 97));
		await r.replicator.cycle();
		expect(r.replicator.status().refused).toEqual(["big.md"]);
		expect(remoteTree()).toContain("exact.md");
		writeFileSync(join(repos.work, "big.md"), "small now\n");
		const report = await r.replicator.cycle();
		expect(report.problem).toBeNull();
		expect(git(repos.remote, "show", "main:big.md")).toBe("small now");
		expect(r.replicator.status().refused).toEqual([]);
	});
});
