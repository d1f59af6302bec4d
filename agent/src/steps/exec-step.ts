// The exec step: runs a configured argv (never a shell) and succeeds iff it exits 0.
import { resolve } from "node:path";
import { boundText } from "./output-tail";
import { type CommandResult, describeFailure, runCommand } from "./run-command";
import type { Step } from "./schema";
import type { StepContext, StepOutcome } from "./types";

type ExecStep = Extract<Step, { type: "exec" }>;

export async function runExec(step: ExecStep, ctx: StepContext): Promise<StepOutcome> {
	const run = ctx.runCommand ?? runCommand;
	const result = await run({
		argv: step.argv,
		cwd: resolve(ctx.workspace, step.cwd ?? "."),
		env: step.env,
		timeoutMs: step.timeoutMs,
		signal: ctx.signal,
	});
	return commandOutcome(step.argv[0] ?? "exec", result);
}

/** Maps one command's result onto a step outcome (shared by the systemd steps). */
export function commandOutcome(label: string, result: CommandResult, hint?: string): StepOutcome {
	const error = describeFailure(label, result);
	const exitCode = result.kind === "exited" ? result.exitCode : null;
	if (error === undefined) {
		return { status: "succeeded", ms: result.ms, exitCode, output: boundText(result.output) };
	}
	return {
		status: "failed",
		ms: result.ms,
		exitCode,
		output: boundText(result.output),
		error: hint === undefined ? error : `${error}: ${hint}`,
	};
}
