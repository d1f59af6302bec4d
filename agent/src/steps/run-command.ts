// Runs one program from an argv array (never through a shell) with a deadline that kills its whole process group.
import { spawn } from "node:child_process";
import { stat } from "../fs-async";
import { stopwatch } from "../stopwatch";
import { OUTPUT_LIMIT_BYTES, OutputTail } from "./output-tail";

/**
 * After SIGTERM, a process gets this long to exit before SIGKILL: enough for git to remove its lock
 * files or a script to run its trap handler, short enough not to stretch a failover noticeably.
 */
export const KILL_GRACE_MS = 5_000;

/**
 * Once the program itself has exited, its output pipes get this long to drain: a background child that
 * inherited the pipes (and may live forever) must not hold the step open.
 */
const DRAIN_MS = 250;

/** While a killed group winds down, how often to check whether any member is still alive. */
const GROUP_POLL_MS = 50;

export interface CommandRequest {
	/** argv[0] is the program (looked up on PATH); the rest are its arguments, passed verbatim. */
	readonly argv: readonly string[];
	readonly cwd?: string;
	/** Merged over the agent's own environment. */
	readonly env?: Readonly<Record<string, string>>;
	readonly timeoutMs: number;
	readonly signal?: AbortSignal;
}

/** How a command ended; `output` is the last 4 KiB of stdout and stderr interleaved. */
export type CommandResult =
	| {
			readonly kind: "exited";
			readonly exitCode: number;
			readonly output: string;
			readonly ms: number;
	  }
	| {
			readonly kind: "signaled";
			readonly signal: string;
			readonly output: string;
			readonly ms: number;
	  }
	| {
			readonly kind: "timeout";
			readonly timeoutMs: number;
			readonly output: string;
			readonly ms: number;
	  }
	| { readonly kind: "aborted"; readonly output: string; readonly ms: number }
	| {
			readonly kind: "spawn-failed";
			readonly error: string;
			readonly output: string;
			readonly ms: number;
	  };

export type CommandRunner = (request: CommandRequest) => Promise<CommandResult>;

export interface CommandRunnerOptions {
	readonly killGraceMs?: number;
	readonly outputLimitBytes?: number;
}

export function createCommandRunner(options: CommandRunnerOptions = {}): CommandRunner {
	const killGraceMs = options.killGraceMs ?? KILL_GRACE_MS;
	const limit = options.outputLimitBytes ?? OUTPUT_LIMIT_BYTES;
	return (request) => run(request, killGraceMs, limit);
}

/** The real runner: what steps use unless a test or the systemd steps inject another. */
export const runCommand: CommandRunner = createCommandRunner();

/** One line saying how a command ended, for a step's error. Undefined for exit code 0. */
export function describeFailure(label: string, result: CommandResult): string | undefined {
	switch (result.kind) {
		case "exited":
			return result.exitCode === 0 ? undefined : `${label} exited with code ${result.exitCode}`;
		case "signaled":
			return `${label} was killed by ${result.signal}`;
		case "timeout":
			return `${label} timed out after ${result.timeoutMs} ms (its process group was killed)`;
		case "aborted":
			return `${label} was aborted (its process group was killed)`;
		case "spawn-failed":
			return `${label} could not start: ${result.error}`;
	}
}

async function run(
	req: CommandRequest,
	killGraceMs: number,
	limit: number,
): Promise<CommandResult> {
	const stopped = stopwatch();
	const elapsed = () => Math.round(stopped());
	const failed = (error: string): CommandResult => ({
		kind: "spawn-failed",
		error,
		output: "",
		ms: elapsed(),
	});

	const program = req.argv[0];
	if (program === undefined || program === "")
		return failed("empty argv: argv[0] must name the program");
	if (req.argv.some((a) => a.includes("\0"))) return failed("an argument contains a NUL byte");
	if (req.cwd !== undefined) {
		const dir = await stat(req.cwd).catch(() => undefined);
		// Checked up front because spawn reports a missing cwd as ENOENT, indistinguishable from a missing program.
		if (dir === undefined) return failed(`working directory not found: ${req.cwd}`);
		if (!dir.isDirectory()) return failed(`working directory is not a directory: ${req.cwd}`);
	}
	if (req.signal?.aborted) return { kind: "aborted", output: "", ms: elapsed() };
	if (!(req.timeoutMs > 0))
		return { kind: "timeout", timeoutMs: req.timeoutMs, output: "", ms: elapsed() };

	return new Promise<CommandResult>((resolve) => {
		let child: ReturnType<typeof spawn>;
		try {
			child = spawn(program, req.argv.slice(1), {
				cwd: req.cwd,
				env: { ...process.env, ...req.env },
				stdio: ["ignore", "pipe", "pipe"],
				// A new session: the program leads its own process group (so a kill reaches its children)
				// and has no controlling terminal (so ssh or git can never stop to ask for a password).
				detached: true,
				shell: false,
				windowsHide: true,
			});
		} catch (error) {
			resolve(failed(describeSpawnError(program, error)));
			return;
		}

		const tail = new OutputTail(limit);
		child.stdout?.on("data", (c: Buffer) => tail.push(c));
		child.stderr?.on("data", (c: Buffer) => tail.push(c));

		let ending: "timeout" | "aborted" | undefined;
		let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
		let settled = false;
		const timers: ReturnType<typeof setTimeout>[] = [];
		let groupPoll: ReturnType<typeof setInterval> | undefined;

		const finish = (result: CommandResult) => {
			if (settled) return;
			settled = true;
			for (const t of timers) clearTimeout(t);
			if (groupPoll !== undefined) clearInterval(groupPoll);
			req.signal?.removeEventListener("abort", onAbort);
			child.stdout?.destroy();
			child.stderr?.destroy();
			resolve(result);
		};

		const pid = child.pid;
		const signalGroup = (sig: NodeJS.Signals | 0): boolean => {
			if (pid === undefined) return false;
			try {
				process.kill(-pid, sig);
				return true;
			} catch {
				return false; // ESRCH: every member of the group is gone.
			}
		};

		const settleFromExit = () => {
			if (exit === undefined) return;
			const output = tail.toString();
			const ms = elapsed();
			if (ending === "timeout") finish({ kind: "timeout", timeoutMs: req.timeoutMs, output, ms });
			else if (ending === "aborted") finish({ kind: "aborted", output, ms });
			else if (exit.code !== null) finish({ kind: "exited", exitCode: exit.code, output, ms });
			else finish({ kind: "signaled", signal: exit.signal ?? "unknown signal", output, ms });
		};

		const stop = (why: "timeout" | "aborted") => {
			if (ending !== undefined || exit !== undefined || settled) return;
			ending = why;
			signalGroup("SIGTERM");
			timers.push(
				setTimeout(() => {
					signalGroup("SIGKILL");
					if (exit !== undefined) return settleFromExit();
					// SIGKILL cannot be ignored; if the exit event still lags (a process stuck in the kernel),
					// report the timeout anyway rather than hold the step open.
					timers.push(
						setTimeout(() => {
							exit ??= { code: null, signal: "SIGKILL" };
							settleFromExit();
						}, DRAIN_MS),
					);
				}, killGraceMs),
			);
		};
		const onAbort = () => stop("aborted");
		req.signal?.addEventListener("abort", onAbort, { once: true });
		timers.push(setTimeout(() => stop("timeout"), req.timeoutMs));

		child.on("error", (error) => {
			// Only a failed spawn is fatal here; errors from kill() on a live child are not.
			if (child.pid === undefined) finish(failed(describeSpawnError(program, error)));
		});
		child.on("exit", (code, signal) => {
			if (settled) return;
			exit = { code, signal };
			if (ending !== undefined) {
				// Killed on purpose: settle only once the rest of the group is gone too (or SIGKILLed at
				// the end of the grace period). A zombie nobody reaps counts as alive, so the grace bounds it.
				if (!signalGroup(0)) return settleFromExit();
				groupPoll = setInterval(() => {
					if (!signalGroup(0)) settleFromExit();
				}, GROUP_POLL_MS);
				return;
			}
			timers.push(setTimeout(settleFromExit, DRAIN_MS));
		});
		child.on("close", () => {
			if (ending === undefined) settleFromExit();
		});
	});
}

function describeSpawnError(program: string, error: unknown): string {
	const code = (error as { code?: unknown } | null)?.code;
	if (code === "ENOENT")
		return `program not found: ${program} (ENOENT: is it installed and on PATH?)`;
	if (code === "EACCES") return `program not executable: ${program} (EACCES)`;
	const message = error instanceof Error ? error.message : String(error);
	return typeof code === "string" ? `${code}: ${message}` : message;
}
