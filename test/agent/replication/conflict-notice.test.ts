// A merge's conflicts reach the watchdog: they stay the status's problem past the next cycles (naming the
// branch that holds this side's versions) until CONFLICT_NOTICE_MS has passed or another problem comes.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CONFLICT_NOTICE_MS } from "../../../agent/src/replication/replicator";
import { git } from "../steps/helpers";
import { rig, useReplicationCase, watchdog } from "./helpers";

const t = useReplicationCase("conflict-notice");

/** The active primary merges a remote where the standby changed MEMORY.md too: a conflict. */
async function conflicted() {
	const r = rig(t.repos.work, "primary", t.wd, t.c);
	await t.wd.grant(r.lease, { active: "primary", term: 2 });
	t.repos.pushFromOther("MEMORY.md", "the standby's line\n");
	t.repos.write(t.repos.work, "MEMORY.md", "the primary's line\n");
	const first = await r.replicator.cycle();
	expect(first.conflicts).toEqual(["MEMORY.md"]);
	return r;
}

describe("merge conflicts in the status", { timeout: 60_000 }, () => {
	it("name the saved branch and outlive the next cycles, then clear after CONFLICT_NOTICE_MS", async () => {
		const r = await conflicted();
		const p = r.replicator.status().problem;
		expect(p?.kind).toBe("merge-conflicts");
		const branch = p?.message.match(/primary's versions are on (failover\/primary-\S+)$/)?.[1];
		expect(branch, p?.message).toBeDefined();
		// The branch named is the one pushed, holding this side's version.
		expect(git(t.repos.remote, "show", `${branch}:MEMORY.md`)).toBe("the primary's line");
		expect(p?.hint).toContain(`git diff main ${branch} -- <path>`);

		// A later cycle with nothing wrong (a file settled and was pushed): the conflicts are still told.
		t.repos.write(t.repos.work, "later.md", "more\n");
		const later = await r.replicator.cycle();
		expect(later.pushedTo).toBe("main");
		expect(r.replicator.status().problem).toEqual(p);

		t.c.advance(CONFLICT_NOTICE_MS);
		await t.wd.grant(r.lease, { active: "primary", term: 2 });
		await r.replicator.cycle();
		expect(r.replicator.status().problem).toBeNull();
	});

	it("another problem replaces them, and they do not come back after it clears", async () => {
		const r = await conflicted();
		const remote = git(t.repos.work, "remote", "get-url", "origin");
		git(t.repos.work, "remote", "set-url", "origin", join(t.root.path, "gone.git"));
		t.repos.write(t.repos.work, "next.md", "x\n");
		await r.replicator.cycle();
		expect(r.replicator.status().problem?.kind).toBe("remote-unreachable");
		git(t.repos.work, "remote", "set-url", "origin", remote);
		await r.replicator.cycle();
		expect(r.replicator.status().problem).toBeNull();
	});
});
