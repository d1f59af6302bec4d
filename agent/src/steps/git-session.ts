// Runs the git commands of one step in the workspace: shared deadline, non-interactive environment, transcript.
import { spawn } from "node:child_process";
import { boundText } from "./output-tail";
import { type CommandResult, runCommand } from "./run-command";
import type { StepContext, StepOutcome } from "./types";

/**
 * No credential prompt can ever block a step (there is nobody to answer it), and messages stay in English
 * so the few that are parsed (push porcelain, merge refusals) read the same on every machine.
 */
const GIT_ENV: Readonly<Record<string, string>> = Object.freeze({
	GIT_TERMINAL_PROMPT: "0",
	GIT_MERGE_AUTOEDIT: "no",
	LC_ALL: "C",
	LANGUAGE: "C",
});

/**
 * A remote as steps may show it: a URL's `user:password@` (often an access token) is dropped, as git does in
 * its own messages, because step errors travel to the watchdog, its status page and its notifications.
 */
export function shownRemote(remote: string): string {
	return remote.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^/]*@/, "$1");
}

/**
 * What git needs from the command line under a systemd sandbox (read-only home, another owner, no
 * terminal), so the same commands work under the unit and in a shell: an identity, the workspace as a
 * `safe.directory`, and an ssh command that can never prompt.
 */
export interface GitSandbox {
	readonly identity?: { readonly name: string; readonly email: string };
	/** known_hosts for the remote's host key; ssh runs with BatchMode=yes and StrictHostKeyChecking=yes. */
	readonly knownHostsFile?: string;
	/** Private key for the remote (no passphrase: nobody is there to type it). */
	readonly sshKeyFile?: string;
}

/**
 * Paths that go into `core.sshCommand`, which git runs through a shell: only plain absolute paths are
 * accepted (config validation uses the same pattern), so no value can become shell syntax.
 */
export const SAFE_PATH_RE = /^\/[A-Za-z0-9._/-]+$/;

/** `-c` flags for every git call in `workspace` (identity only when configured: an existing one wins otherwise). */
export function sandboxFlags(workspace: string, sandbox: GitSandbox | undefined): string[] {
	const flags = ["-c", `safe.directory=${workspace}`];
	if (sandbox?.identity !== undefined) {
		flags.push(
			"-c",
			`user.name=${sandbox.identity.name}`,
			"-c",
			`user.email=${sandbox.identity.email}`,
		);
	}
	const ssh = ["ssh", "-o", "BatchMode=yes"];
	for (const file of [sandbox?.knownHostsFile, sandbox?.sshKeyFile]) {
		if (file !== undefined && !SAFE_PATH_RE.test(file)) {
			throw new TypeError(`sandbox path ${JSON.stringify(file)} is not a plain absolute path`);
		}
	}
	if (sandbox?.knownHostsFile !== undefined) {
		ssh.push(
			"-o",
			`UserKnownHostsFile=${sandbox.knownHostsFile}`,
			"-o",
			"StrictHostKeyChecking=yes",
		);
	}
	if (sandbox?.sshKeyFile !== undefined)
		ssh.push("-o", "IdentitiesOnly=yes", "-i", sandbox.sshKeyFile);
	flags.push("-c", `core.sshCommand=${ssh.join(" ")}`);
	return flags;
}

/** A git run whose whole stdout is kept (bounded): for commands whose output is parsed, not shown. */
export type GitRun =
	| {
			readonly kind: "exited";
			readonly code: number;
			readonly stdout: string;
			readonly stderr: string;
	  }
	| { readonly kind: "timeout"; readonly timeoutMs: number; readonly stderr: string }
	| { readonly kind: "spawn-failed"; readonly error: string };

export interface GitCallOptions {
	readonly env?: Readonly<Record<string, string>>;
	/** Written to git's stdin (e.g. `update-index --index-info`). */
	readonly input?: string;
	readonly timeoutMs?: number;
}

export type GitCapture = (args: readonly string[], opts?: GitCallOptions) => Promise<GitRun>;

/**
 * Parsed output is capped at 16 MiB: a workspace listing (status, ls-tree) of a memory folder is a few
 * KB; a runaway listing is cut off and the run reported as failed rather than filling the agent's memory.
 */
const MAX_CAPTURE_BYTES = 16 * 1024 * 1024;
/** After SIGTERM git gets this long to remove its lock files before SIGKILL (as run-command.ts). */
const CAPTURE_KILL_GRACE_MS = 5_000;

/**
 * Runs git in `workspace` from an argv (no shell), with the session's environment and sandbox flags and a
 * deadline (ms), keeping stdout whole. stderr is returned with URL credentials removed (shownRemote).
 */
export function gitCapture(
	workspace: string,
	sandbox: GitSandbox | undefined,
	defaultTimeoutMs: number,
): GitCapture {
	const prefix = sandboxFlags(workspace, sandbox);
	return (args, opts = {}) =>
		new Promise<GitRun>((resolve) => {
			const timeoutMs = opts.timeoutMs ?? defaultTimeoutMs;
			const child = spawn("git", [...prefix, ...args], {
				cwd: workspace,
				env: { ...process.env, ...GIT_ENV, ...opts.env },
				stdio: [opts.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
			});
			const out: Buffer[] = [];
			const err: Buffer[] = [];
			let size = 0;
			let overflow = false;
			let timedOut = false;
			const kill = () => {
				child.kill("SIGTERM");
				setTimeout(() => child.kill("SIGKILL"), CAPTURE_KILL_GRACE_MS).unref();
			};
			const timer = setTimeout(() => {
				timedOut = true;
				kill();
			}, timeoutMs);
			const collect = (into: Buffer[]) => (chunk: Buffer) => {
				size += chunk.length;
				if (size > MAX_CAPTURE_BYTES) {
					if (!overflow) kill();
					overflow = true;
					return;
				}
				into.push(chunk);
			};
			child.stdout?.on("data", collect(out));
			child.stderr?.on("data", collect(err));
			child.on("error", (e) => {
				clearTimeout(timer);
				resolve({ kind: "spawn-failed", error: e.message });
			});
			if (opts.input !== undefined) {
				child.stdin?.on("error", () => {}); // git exiting early closes the pipe: its exit code tells why
				child.stdin?.end(opts.input);
			}
			child.on("close", (code, signal) => {
				clearTimeout(timer);
				const stderr = shownRemote(Buffer.concat(err).toString("utf8"));
				if (timedOut) return resolve({ kind: "timeout", timeoutMs, stderr });
				if (overflow) {
					return resolve({
						kind: "exited",
						code: 125,
						stdout: "",
						stderr: `output over ${MAX_CAPTURE_BYTES} bytes`,
					});
				}
				resolve({
					kind: "exited",
					code: code ?? (signal === null ? 1 : 128),
					stdout: Buffer.concat(out).toString("utf8"),
					stderr,
				});
			});
		});
}

/** git's line naming a lock file it could not take (index.lock, a ref's lock). */
const LOCK_LINE = /Unable to create '[^']+\.lock': File exists|cannot lock ref/;

/** One line for a git run that did not succeed. */
export function describeRun(what: string, run: GitRun): string {
	switch (run.kind) {
		case "exited": {
			// `push --porcelain` puts the refused refs ("!\t<ref>\t[rejected] (why)") on stdout: they say most.
			const refused = run.stdout.split("\n").filter((l) => l.startsWith("!\t"));
			const err = run.stderr.trim().split("\n");
			// A lock refusal names the lock file first and then prints five lines of advice: the line
			// naming the file is what the operator (and refusalKind) needs, so it is kept.
			const lock = err.slice(0, -2).filter((l) => LOCK_LINE.test(l));
			const lines = refused.length > 0 ? refused : [...lock, ...err.slice(-2)];
			const last = lines.join(" ").replaceAll("\t", " ").slice(0, 300);
			return `${what} failed (git exited with code ${run.code}${last === "" ? "" : `: ${last}`})`;
		}
		case "timeout":
			return `${what} timed out after ${run.timeoutMs} ms`;
		case "spawn-failed":
			return `${what} could not run git: ${run.error}`;
	}
}

export const ok = (
	run: GitRun,
): run is Extract<GitRun, { kind: "exited" }> & { readonly code: 0 } =>
	run.kind === "exited" && run.code === 0;

export class GitSession {
	readonly #ctx: StepContext;
	readonly #label: string;
	readonly #timeoutMs: number;
	readonly #now: () => number;
	readonly #started: number;
	readonly #transcript: string[] = [];
	#lastExitCode: number | null | undefined;

	constructor(ctx: StepContext, label: string, timeoutMs: number) {
		this.#ctx = ctx;
		this.#label = label;
		this.#timeoutMs = timeoutMs;
		this.#now = ctx.now ?? Date.now;
		this.#started = this.#now();
	}

	get now(): number {
		return this.#now();
	}

	/** Runs `git <args>` in the workspace with whatever is left of the step's deadline. */
	async git(args: readonly string[]): Promise<CommandResult> {
		const remaining = this.#started + this.#timeoutMs - this.#now();
		const result: CommandResult =
			remaining <= 0
				? { kind: "timeout", timeoutMs: this.#timeoutMs, output: "", ms: 0 }
				: await (this.#ctx.runCommand ?? runCommand)({
						argv: ["git", ...sandboxFlags(this.#ctx.workspace, this.#ctx.git), ...args],
						cwd: this.#ctx.workspace,
						env: GIT_ENV,
						timeoutMs: remaining,
						signal: this.#ctx.signal,
					});
		this.#lastExitCode = result.kind === "exited" ? result.exitCode : null;
		const out = result.output;
		this.#transcript.push(
			`$ git ${args.map(shownRemote).join(" ")}\n${out}${out === "" || out.endsWith("\n") ? "" : "\n"}`,
		);
		return result;
	}

	/** Adds the step's own explanation to the transcript. */
	note(text: string): void {
		this.#transcript.push(`${text}\n`);
	}

	/** One line for a command that did not do what the step needed, naming the step's deadline on timeout. */
	describe(what: string, result: CommandResult): string {
		switch (result.kind) {
			case "exited":
				return `${what} failed (git exited with code ${result.exitCode})`;
			case "signaled":
				return `${what} failed (git was killed by ${result.signal})`;
			case "timeout":
				return `${this.#label} timed out after ${this.#timeoutMs} ms during ${what}`;
			case "aborted":
				return `${this.#label} was aborted during ${what}`;
			case "spawn-failed":
				return `${what} could not run: ${result.error}`;
		}
	}

	succeeded(summary: string): StepOutcome {
		this.note(summary);
		return this.#outcome("succeeded");
	}

	failed(error: string): StepOutcome {
		return this.#outcome("failed", error);
	}

	#outcome(status: StepOutcome["status"], error?: string): StepOutcome {
		return {
			status,
			ms: this.#now() - this.#started,
			...(this.#lastExitCode === undefined ? {} : { exitCode: this.#lastExitCode }),
			output: boundText(this.#transcript.join("")),
			...(error === undefined ? {} : { error }),
		};
	}
}

export type BranchLookup =
	| { readonly ok: true; readonly branch: string }
	| { readonly ok: false; readonly detached: boolean; readonly error: string };

/** The workspace's checked-out branch; a detached HEAD or a non-repository is a clear failure. */
export async function currentBranch(session: GitSession, workspace: string): Promise<BranchLookup> {
	const result = await session.git(["symbolic-ref", "--quiet", "--short", "HEAD"]);
	if (result.kind === "exited" && result.exitCode === 0) {
		const branch = result.output.trim();
		if (branch !== "") return { ok: true, branch };
	}
	if (result.kind === "exited" && result.exitCode === 1) {
		return {
			ok: false,
			detached: true,
			error: `the workspace ${workspace} has a detached HEAD: check out a branch or set "branch"`,
		};
	}
	if (result.kind === "exited" && /dubious ownership/i.test(result.output)) {
		return {
			ok: false,
			detached: false,
			error: `git refuses the workspace ${workspace}: it is owned by another user (run the agent as the workspace's owner, or add it to safe.directory)`,
		};
	}
	if (result.kind === "exited" && /not a git repository/i.test(result.output)) {
		return {
			ok: false,
			detached: false,
			error: `the workspace ${workspace} is not a git repository`,
		};
	}
	return {
		ok: false,
		detached: false,
		error: session.describe("reading the current branch", result),
	};
}
