// Runs one configured action step: the single entry point the operation manager calls.
import { withWorkspaceLock } from "../replication/workspace-lock";
import { runExec } from "./exec-step";
import { runGitPull } from "./git-pull";
import { runGitPush } from "./git-push";
import { runGitSync } from "./git-sync";
import type { Step } from "./schema";
import { runSystemd } from "./systemd-step";
import type { StepContext, StepOutcome } from "./types";
import { runWaitReady } from "./wait-ready";

export type { CommandRequest, CommandResult, CommandRunner } from "./run-command";
export type { GatewayUnit, StepContext, StepOutcome } from "./types";

/** Never throws for expected failures (timeouts, exit codes, missing programs, rejected pushes): see StepOutcome. */
export async function runStep(step: Step, ctx: StepContext): Promise<StepOutcome> {
	switch (step.type) {
		// Git steps take the workspace lock: replication never runs git beside them.
		case "git-pull":
			return withWorkspaceLock(ctx.workspace, () => runGitPull(step, ctx));
		case "git-push":
			return withWorkspaceLock(ctx.workspace, () => runGitPush(step, ctx));
		case "git-sync":
			return withWorkspaceLock(ctx.workspace, () => runGitSync(step, ctx));
		case "exec":
			return runExec(step, ctx);
		case "systemd-start":
		case "systemd-stop":
			return runSystemd(step, ctx);
		case "wait-ready":
			return runWaitReady(step, ctx);
		default: {
			const unknown: never = step;
			throw new TypeError(`unknown step type: ${JSON.stringify(unknown)}`);
		}
	}
}
