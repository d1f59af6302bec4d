// A remote URL's credentials (an access token) never reach the status, the log or a commit message.
import { describe, expect, it } from "vitest";
import { git } from "../steps/helpers";
import { rig, useReplicationCase } from "./helpers";

const t = useReplicationCase("remote-secret");

const SECRET = "ghp_s3cretTOKEN";

describe("a remote URL with credentials", { timeout: 60_000 }, () => {
	it("an unreachable remote: the problem and the log name it without the token", async () => {
		const r = rig(t.repos.work, "primary", t.wd, t.c, {
			remote: `http://oauth2:${SECRET}@127.0.0.1:1/repo.git`,
		});
		await t.wd.grant(r.lease, { active: "primary", term: 1 });
		t.repos.write(t.repos.work, "MEMORY.md", "x\n");
		const report = await r.replicator.cycle();
		expect(report.problem).not.toBeNull();
		const shown = JSON.stringify([report, r.replicator.status(), r.log.lines]);
		expect(shown).toContain("127.0.0.1:1");
		expect(shown).not.toContain(SECRET);
	});

	it("a standby's warm fetch from an unreachable remote: the problem names it without the token", async () => {
		const r = rig(t.repos.work, "standby", t.wd, t.c, {
			remote: `http://oauth2:${SECRET}@127.0.0.1:1/repo.git`,
		});
		await t.wd.grant(r.lease, { active: "primary", term: 1 });
		// Nothing of its own to hold: the cycle's only remote call is the warm fetch.
		git(t.repos.work, "update-ref", "refs/remotes/failover-gateway/pushed/main", "HEAD");
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
		git(t.repos.work, "config", `url.${t.repos.remote}.insteadOf`, url);
		const r = rig(t.repos.work, "primary", t.wd, t.c, { remote: url });
		await t.wd.grant(r.lease, { active: "primary", term: 1 });
		t.repos.pushFromOther("other.md", "from the standby\n");
		t.repos.write(t.repos.work, "MEMORY.md", "mine\n");
		const report = await r.replicator.cycle();
		expect(report.problem).toBeNull();
		expect(report.pushedTo).toBe("main");
		const messages = git(t.repos.remote, "log", "--format=%B", "main");
		expect(messages).toContain("merges https://git.example.test/repo.git/main");
		const shown = JSON.stringify([messages, report, r.replicator.status(), r.log.lines]);
		expect(shown).not.toContain(SECRET);
	});
});
