// Doctor: the workspace is a git checkout whose remote this user can fetch from and push to, with no prompt.
import { join } from "node:path";
import type { AgentConfig } from "../config";
import { type CheckResult, type DoctorDeps, fail, pass, runQuiet } from "./check";

/**
 * As the agent's steps run git (no terminal prompt), plus ssh in batch mode: a key with a passphrase
 * or an unknown host key fails here as it would fail a promotion, instead of waiting for an answer.
 */
const GIT_ENV: Record<string, string> = {
	GIT_TERMINAL_PROMPT: "0",
	GIT_SSH_COMMAND: "ssh -o BatchMode=yes",
	LC_ALL: "C",
	LANGUAGE: "C",
};

/** The remote's host when it is reached over ssh (scp-like `git@host:path` or `ssh://`), else undefined. */
export function sshHostOf(remoteUrl: string): string | undefined {
	const ssh = /^ssh:\/\/(?:[^@/]+@)?\[?([^\]/:]+)/.exec(remoteUrl);
	if (ssh) return ssh[1];
	const scp = /^(?:[^@/]+@)?([^/:]+):(?!\/\/)/.exec(remoteUrl);
	return scp && !/^[A-Za-z]$/.test(scp[1] ?? "") ? scp[1] : undefined;
}

export async function checkGit(config: AgentConfig, deps: DoctorDeps): Promise<CheckResult[]> {
	const ws = config.workspace;
	let env: Record<string, string> = GIT_ENV;
	const git = (args: string[]) => runQuiet(deps, ["git", ...args], { cwd: ws, env });
	const inside = await git(["rev-parse", "--is-inside-work-tree"]);
	if (inside.spawnError) {
		return [
			fail("workspace", `cannot run git: ${inside.spawnError}`, "sudo apt-get install -y git"),
		];
	}
	if (inside.code !== 0 || inside.output !== "true") {
		return [
			fail(
				"workspace",
				`${ws} is not a git checkout (${inside.output.split("\n")[0] || "git said no"})`,
				`git clone <your workspace remote> ${ws}`,
			),
		];
	}
	const results: CheckResult[] = [pass("workspace", `${ws} is a git checkout`)];
	// GIT_SSH_COMMAND outranks core.sshCommand: keep the user's own ssh command (a deploy key, say)
	// and only add batch mode to it, so doctor tests the ssh the agent will run.
	const own = await git(["config", "--get", "core.sshCommand"]);
	if (own.code === 0 && own.output !== "")
		env = { ...GIT_ENV, GIT_SSH_COMMAND: `${own.output} -o BatchMode=yes` };
	const branch = (await git(["symbolic-ref", "--short", "HEAD"])).output || "main";
	const upstream = await git(["rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{u}"]);
	const remote = upstream.code === 0 ? (upstream.output.split("/")[0] ?? "origin") : "origin";
	const url = await git(["remote", "get-url", remote]);
	if (url.code !== 0) {
		results.push(
			fail(
				"git remote",
				`no remote "${remote}" in ${ws}`,
				`git -C ${ws} remote add origin <url> && git -C ${ws} push -u origin ${branch}`,
			),
		);
		return results;
	}
	const host = sshHostOf(url.output);
	if (host !== undefined) {
		const knownHosts = join(deps.user.home, ".ssh", "known_hosts");
		const listed = await runQuiet(deps, ["ssh-keygen", "-F", host, "-f", knownHosts]);
		if (listed.code !== 0) {
			results.push(
				fail(
					"known_hosts",
					`${host} is not in ${knownHosts}, so ssh in batch mode refuses it`,
					`ssh-keyscan ${host} >> ${knownHosts}   # as ${deps.user.name}; compare the fingerprint with your git host's`,
				),
			);
			return results;
		}
		results.push(pass("known_hosts", `${host} is in ${knownHosts}`));
	}
	const fetched = await git(["fetch", "--dry-run", remote]);
	if (fetched.code !== 0) {
		results.push(
			fail(
				"git fetch",
				`cannot fetch ${remote} as ${deps.user.name} without a prompt: ${lastLine(fetched.output)}`,
				`sudo -u ${deps.user.name} GIT_SSH_COMMAND="ssh -o BatchMode=yes" git -C ${ws} fetch ${remote}   # then give this user a key without a passphrase (ssh-keygen -t ed25519 -N "") added to the remote`,
			),
		);
		return results;
	}
	results.push(pass("git fetch", `fetches ${remote} without a prompt`));
	const pushed = await git(["push", "--dry-run", remote, `HEAD:refs/heads/${branch}`]);
	if (pushed.code !== 0) {
		results.push(
			fail(
				"git push",
				`cannot push to ${remote} as ${deps.user.name} (dry run): ${lastLine(pushed.output)}`,
				`sudo -u ${deps.user.name} git -C ${ws} push --dry-run ${remote} HEAD:refs/heads/${branch}   # give this user's key write access on the remote`,
			),
		);
		return results;
	}
	results.push(pass("git push", `may push ${branch} to ${remote} (dry run)`));
	return results;
}

function lastLine(text: string): string {
	const lines = text.split("\n").filter((l) => l.trim() !== "");
	return (lines.at(-1) ?? "no output").slice(0, 200);
}
