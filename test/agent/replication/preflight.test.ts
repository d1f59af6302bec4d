// check-config's replication checks, as the agent's user: repository, branch, reachable remote, a push that would work.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../../agent/src/config";
import { replicationPreflight } from "../../../agent/src/replication/preflight";
import { watchdogKeys } from "../helpers";
import { git, isolateGitConfig, makeRepos, tempDir } from "../steps/helpers";

const base = tempDir("preflight");
let restoreEnv: () => void;
beforeAll(() => {
	restoreEnv = isolateGitConfig(base.path);
});
afterAll(() => {
	restoreEnv();
	base.remove();
});

async function configFor(workspace: string) {
	const keys = await watchdogKeys();
	const parsed = parseConfig(
		{
			role: "primary",
			pair: "home",
			agentKeyFile: "agent.key",
			watchdogPublicKeys: [keys.publicKeyText],
			workspace,
			gatewayUnit: { name: "openclaw-gateway.service" },
			replication: { enabled: true },
		},
		"test",
		base.path,
	);
	if (!parsed.ok) throw new Error(parsed.errors.join("; "));
	return parsed.config;
}

describe("replicationPreflight", { timeout: 60_000 }, () => {
	it("passes for a clone on a branch whose remote accepts the push", async () => {
		const root = tempDir("pf-ok");
		try {
			const repos = makeRepos(root.path);
			expect(await replicationPreflight(await configFor(repos.work))).toEqual([]);
		} finally {
			root.remove();
		}
	});

	it("names each problem: not a repository, detached HEAD, unreachable remote", async () => {
		const root = tempDir("pf-bad");
		try {
			expect((await replicationPreflight(await configFor(root.path))).join()).toMatch(
				/not a git repository/,
			);
			const repos = makeRepos(root.path);
			git(repos.work, "checkout", "-q", "--detach");
			expect((await replicationPreflight(await configFor(repos.work))).join()).toMatch(
				/detached HEAD/,
			);
			git(repos.work, "checkout", "-q", "main");
			git(repos.work, "remote", "set-url", "origin", join(root.path, "gone.git"));
			expect((await replicationPreflight(await configFor(repos.work))).join()).toMatch(
				/reaching origin/,
			);
		} finally {
			root.remove();
		}
	});
});
