// What every step receives (the agent's context, with its I/O passed in) and what it returns.
import type { StepWarning } from "../../../protocol";
import type { ReadyFetch } from "../http-get";
import type { GitSandbox } from "./git-session";
import type { CommandRunner } from "./run-command";

export interface GatewayUnit {
	readonly name: string;
	/** "system": `systemctl start X` (a non-root agent needs the polkit rule); "user": `systemctl --user start X`. */
	readonly scope: "system" | "user";
}

export interface StepContext {
	/** The gateway's workspace: a git checkout; git steps run here, exec steps default to it. */
	readonly workspace: string;
	readonly gatewayUnit: GatewayUnit;
	/** The local gateway's readiness URL (OpenClaw: /readyz), the default for wait-ready. */
	readonly readyUrl: string;
	/** The action this step belongs to ("promote", "demote", "sync"), used in commit messages. */
	readonly action?: string;
	/** Aborts the running step (its process group is killed, its polling stops). */
	readonly signal?: AbortSignal;
	/** Runs commands; defaults to the real spawn-based runner. Tests inject fakes here. */
	readonly runCommand?: CommandRunner;
	/** Clock in ms since the epoch; defaults to Date.now. */
	readonly now?: () => number;
	/** The readiness GET; defaults to httpGet (node:http). Tests inject a fake fetch. */
	readonly fetch?: ReadyFetch;
	/** This agent's side of the pair (names failover branches); default: from the action. */
	readonly side?: "primary" | "standby";
	/** What git needs on its command line under the unit's sandbox (identity, ssh options). */
	readonly git?: GitSandbox;
	/** Told of a merge (git-sync) that found paths changed on both sides: the agent keeps it in status. */
	readonly onConflict?: (conflict: MergeConflict) => void;
}

/** A merge that kept the incoming version of paths both sides changed (ReplicationStatus.lastConflict). */
export interface MergeConflict {
	readonly at: number;
	readonly by: "replication" | "promote" | "sync";
	readonly paths: readonly string[];
	readonly savedBranch: string | null;
}

/** A step's result. Expected failures (timeouts, exit codes, rejected pushes) are values, never exceptions. */
export interface StepOutcome {
	readonly status: "succeeded" | "failed";
	readonly ms: number;
	/** The last command's exit code; null when it was killed or never started. Absent for non-command steps. */
	readonly exitCode?: number | null;
	/** The last 4 KiB of what the step's commands printed, plus the step's own notes. */
	readonly output: string;
	/** Why the step failed, in one line. */
	readonly error?: string;
	/** What a succeeded step wants an operator to know (the Worker raises a warning event per item). */
	readonly warnings?: readonly StepWarning[];
}
