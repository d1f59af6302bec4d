// What `check-config` verifies for replication, as the agent's own user: a repository, a reachable remote, a push that works.
import type { AgentConfig } from "../config";
import { describeRun, gitCapture, ok } from "../steps/git-session";

/** git merge-tree --write-tree, which failback merges need, arrived in git 2.38. */
const MIN_GIT: readonly [number, number] = [2, 38];

/**
 * One line per problem (empty: replication can run). Network calls are bounded by the config's git
 * timeout; `git push --dry-run` checks credentials and branch rules without changing the remote.
 */
export async function replicationPreflight(config: AgentConfig): Promise<string[]> {
	const r = config.replication;
	const git = gitCapture(
		config.workspace,
		{
			identity: r.identity,
			...(r.sshKnownHostsFile ? { knownHostsFile: r.sshKnownHostsFile } : {}),
			...(r.sshKeyFile ? { sshKeyFile: r.sshKeyFile } : {}),
		},
		r.gitTimeoutSeconds * 1000,
	);
	const problems: string[] = [];
	const version = await git(["version"]);
	const m = ok(version) ? /(\d+)\.(\d+)/.exec(version.stdout) : null;
	if (m === null) return ["replication: git is not installed or does not run"];
	const [major, minor] = [Number(m[1]), Number(m[2])];
	if (major < MIN_GIT[0] || (major === MIN_GIT[0] && minor < MIN_GIT[1])) {
		problems.push(
			`replication: git ${major}.${minor} is too old: failback merges need git ${MIN_GIT.join(".")} or later (git merge-tree --write-tree)`,
		);
	}
	if (!ok(await git(["rev-parse", "--absolute-git-dir"]))) {
		return [
			...problems,
			`replication: ${config.workspace} is not a git repository (clone the remote into it)`,
		];
	}
	let branch = r.branch;
	if (branch === undefined) {
		const current = await git(["symbolic-ref", "--quiet", "--short", "HEAD"]);
		if (!ok(current)) {
			return [
				...problems,
				"replication: the workspace has a detached HEAD (check out the branch, or set replication.branch)",
			];
		}
		branch = current.stdout.trim();
	}
	const reach = await git(["ls-remote", "--heads", r.remote, branch]);
	if (!ok(reach)) {
		return [...problems, `replication: ${describeRun(`reaching ${r.remote}`, reach)}`];
	}
	const push = await git([
		"push",
		"--dry-run",
		"--porcelain",
		r.remote,
		`HEAD:refs/heads/${branch}`,
	]);
	if (!ok(push))
		problems.push(`replication: ${describeRun(`a dry-run push to ${r.remote}/${branch}`, push)}`);
	return problems;
}
