// Test helpers for the step tests: temp dirs, isolated git config, git repos with a bare remote, free ports.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export function tempDir(prefix: string): { path: string; remove: () => void } {
	const path = mkdtempSync(join(tmpdir(), `fg-${prefix}-`));
	return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

const IDENTITY_VARS = [
	"GIT_AUTHOR_NAME",
	"GIT_AUTHOR_EMAIL",
	"GIT_COMMITTER_NAME",
	"GIT_COMMITTER_EMAIL",
	"EMAIL",
] as const;

/**
 * Makes git in this test process (and the agent's runner, which inherits process.env) see an empty global
 * config and no system config: the same as a clean CI machine with no identity, whatever this host has.
 */
export function isolateGitConfig(dir: string): () => void {
	const saved = new Map<string, string | undefined>();
	const globalConfig = join(dir, "empty-gitconfig");
	writeFileSync(globalConfig, "");
	const set = (key: string, value: string | undefined) => {
		if (!saved.has(key)) saved.set(key, process.env[key]);
		if (value === undefined) delete process.env[key];
		else process.env[key] = value;
	};
	set("GIT_CONFIG_GLOBAL", globalConfig);
	set("GIT_CONFIG_NOSYSTEM", "1");
	for (const v of IDENTITY_VARS) set(v, undefined);
	return () => {
		for (const [key, value] of saved) {
			if (value === undefined) delete process.env[key];
			else process.env[key] = value;
		}
	};
}

/** Runs git synchronously for test setup and assertions; throws on failure (a broken fixture is a test bug). */
export function git(cwd: string, ...args: string[]): string {
	return execFileSync("git", args, {
		cwd,
		encoding: "utf8",
		stdio: ["ignore", "pipe", "pipe"],
		env: { ...process.env, LC_ALL: "C" },
	}).trim();
}

/** git commit with an explicit identity, for commits the fixture makes (not the step under test). */
export function commitAs(cwd: string, message: string): void {
	git(
		cwd,
		"-c",
		"user.name=Fixture",
		"-c",
		"user.email=fixture@example.test",
		"commit",
		"-q",
		"-m",
		message,
	);
}

export interface Repos {
	/** The bare remote ("origin"). */
	remote: string;
	/** The workspace the steps act on; it has no git identity configured. */
	work: string;
	/** Another clone, playing the other gateway that pushes concurrently. */
	other: string;
	write(dir: string, file: string, content: string): void;
	read(dir: string, file: string): string;
	/** Commits a file in `other` and pushes it to origin/main. */
	pushFromOther(file: string, content: string): string;
}

export function makeRepos(root: string): Repos {
	const remote = join(root, "remote.git");
	const work = join(root, "work");
	const other = join(root, "other");
	const write = (dir: string, file: string, content: string) =>
		writeFileSync(join(dir, file), content);
	const read = (dir: string, file: string) => readFileSync(join(dir, file), "utf8");

	git(root, "init", "-q", "--bare", "-b", "main", remote);
	const seed = join(root, "seed");
	git(root, "init", "-q", "-b", "main", seed);
	write(seed, "README.md", "workspace\n");
	git(seed, "add", "-A");
	commitAs(seed, "seed");
	git(seed, "remote", "add", "origin", remote);
	git(seed, "push", "-q", "origin", "main");
	git(root, "clone", "-q", "-b", "main", remote, work);
	git(root, "clone", "-q", "-b", "main", remote, other);

	return {
		remote,
		work,
		other,
		write,
		read,
		pushFromOther(file, content) {
			write(other, file, content);
			git(other, "add", "-A");
			commitAs(other, `other: ${file}`);
			git(other, "push", "-q", "origin", "main");
			return git(other, "rev-parse", "HEAD");
		},
	};
}

/** A port that was free a moment ago (listen on 0, read it, close). */
export async function freePort(): Promise<number> {
	const server = createServer();
	await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
	const address = server.address();
	await new Promise<void>((resolve) => server.close(() => resolve()));
	if (address === null || typeof address === "string") throw new Error("no port");
	return address.port;
}

/** True when the process is gone or a zombie (dead, merely not yet reaped by whoever adopted it). */
export function isDead(pid: number): boolean {
	if (!existsSync("/proc/self/stat")) {
		try {
			process.kill(pid, 0);
			return false;
		} catch {
			return true;
		}
	}
	try {
		const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
		// The state is the field after the parenthesised command name.
		return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
	} catch {
		return true;
	}
}
