// A real git setup for the drill: a bare remote plus the primary's and the standby's working copies.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const IDENTITY = ["-c", "user.name=failover-test", "-c", "user.email=failover-test@localhost"];

export function git(cwd: string, ...args: string[]): string {
	return execFileSync("git", [...IDENTITY, ...args], {
		cwd,
		encoding: "utf8",
		stdio: ["ignore", "pipe", "pipe"],
		env: { ...process.env, GIT_TERMINAL_PROMPT: "0" },
	}).trim();
}

export interface Workspaces {
	remote: string;
	primary: string;
	standby: string;
}

/** Creates remote.git, primary/ and standby/ under `root`, both clones at one first commit on main. */
export function createWorkspaces(root: string): Workspaces {
	const remote = join(root, "remote.git");
	const primary = join(root, "primary");
	const standby = join(root, "standby");
	mkdirSync(remote, { recursive: true });
	git(remote, "init", "--bare", "-b", "main");
	git(root, "clone", "-q", remote, primary);
	git(primary, "checkout", "-q", "-b", "main");
	writeFileSync(join(primary, "MEMORY.md"), "# agent memory\n");
	git(primary, "add", "-A");
	git(primary, "commit", "-q", "-m", "initial workspace");
	git(primary, "push", "-q", "-u", "origin", "main");
	git(root, "clone", "-q", "-b", "main", remote, standby);
	for (const dir of [primary, standby]) {
		git(dir, "config", "user.name", "openclaw");
		git(dir, "config", "user.email", "openclaw@localhost");
	}
	return { remote, primary, standby };
}

export function readIfExists(dir: string, file: string): string | undefined {
	const p = join(dir, file);
	return existsSync(p) ? readFileSync(p, "utf8") : undefined;
}
