// Hostile workspace file names on real repositories: replicated as they are, or refused and reported, never blocking.
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { commitAs, git } from "../steps/helpers";
import { rig, useReplicationCase } from "./helpers";

const t = useReplicationCase("file-names");

const remoteTree = () =>
	git(t.repos.remote, "ls-tree", "-r", "-z", "--name-only", "main")
		.split("\0")
		.filter((p) => p !== "");
/** A name git stores as bytes that are not UTF-8 (Latin-1 "café"). */
const latin1Name = (dir: string) => Buffer.from(join(dir, "caf\xe9.md"), "latin1");

describe("hostile file names", { timeout: 60_000 }, () => {
	it("option-like, pathspec-magic, newline, normalization twins, long and deep names are pushed as they are", async () => {
		const r = rig(t.repos.work, "primary", t.wd, t.c);
		await t.wd.grant(r.lease, { active: "primary", term: 1 });
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
		for (const n of names) writeFileSync(join(t.repos.work, n), `${n}\n`);
		const deep = "d/".repeat(60);
		mkdirSync(join(t.repos.work, deep), { recursive: true });
		writeFileSync(join(t.repos.work, deep, "f"), "deep\n");
		// Stored as links (their target text), never as the content outside the workspace.
		symlinkSync("/etc/passwd", join(t.repos.work, "out-link"));
		const report = await r.replicator.cycle();
		expect(report.problem).toBeNull();
		expect(remoteTree().sort()).toEqual(["README.md", ...names, `${deep}f`, "out-link"].sort());
		expect(git(t.repos.remote, "cat-file", "-p", "main:out-link")).toBe("/etc/passwd");
	});

	it.each([
		["untracked", "untracked"],
		["tracked and modified", "modified"],
		["tracked and deleted", "deleted"],
	] as const)(
		"a non-UTF-8 name (%s) is refused and reported; every other change is still pushed",
		async (_, kind) => {
			const r = rig(t.repos.work, "primary", t.wd, t.c);
			await t.wd.grant(r.lease, { active: "primary", term: 1 });
			const raw = latin1Name(t.repos.work);
			writeFileSync(raw, "v1\n");
			if (kind !== "untracked") {
				// As if it came from the other side's history: tracked, then changed here.
				git(t.repos.work, "add", "-A");
				commitAs(t.repos.work, "latin-1 name");
				git(t.repos.work, "push", "-q", "origin", "main");
				if (kind === "modified") writeFileSync(raw, "v2\n");
				else rmSync(raw);
			}
			t.repos.write(t.repos.work, "MEMORY.md", "still replicated\n");
			const report = await r.replicator.cycle();
			expect(report.problem).toBeNull();
			expect(report.pushedTo).toBe("main");
			expect(git(t.repos.remote, "show", "main:MEMORY.md")).toBe("still replicated");
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
		const r = rig(t.repos.work, "primary", t.wd, t.c, { maxFileBytes: 1024 });
		await t.wd.grant(r.lease, { active: "primary", term: 1 });
		writeFileSync(join(t.repos.work, "big.md"), Buffer.alloc(1025, 97));
		writeFileSync(join(t.repos.work, "exact.md"), Buffer.alloc(1024, 97));
		await r.replicator.cycle();
		expect(r.replicator.status().refused).toEqual(["big.md"]);
		expect(remoteTree()).toContain("exact.md");
		writeFileSync(join(t.repos.work, "big.md"), "small now\n");
		const report = await r.replicator.cycle();
		expect(report.problem).toBeNull();
		expect(git(t.repos.remote, "show", "main:big.md")).toBe("small now");
		expect(r.replicator.status().refused).toEqual([]);
	});
});
