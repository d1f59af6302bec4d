// Runs the git commands of one step in the workspace: shared deadline, non-interactive environment, transcript.
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
						argv: ["git", ...args],
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
