// The systemd-start and systemd-stop steps: systemctl for the gateway unit, through the injectable runner.

import { commandOutcome } from "./exec-step";
import { runCommand } from "./run-command";
import { type Step, UnitNameSchema } from "./schema";
import type { GatewayUnit, StepContext, StepOutcome } from "./types";

export type SystemctlVerb = "start" | "stop";

/** Unit properties the local-gateway check reads with `systemctl show` (see agent/src/unit-state.ts). */
export const UNIT_SHOW_PROPERTIES = [
	"LoadState",
	"ActiveState",
	"SubState",
	"InactiveExitTimestampMonotonic",
	"ActiveEnterTimestampMonotonic",
] as const;

type SystemdStep = Extract<Step, { type: "systemd-start" | "systemd-stop" }>;

/**
 * The argv for one systemctl call. Scope "system" stays plain `systemctl start X` even when the agent is not
 * root: the polkit rule shipped in agent/systemd/ grants the agent's user start/stop on exactly that unit, so
 * no sudo (and no setuid wrapper) is involved. Scope "user" talks to the agent user's own service manager.
 */
export function systemctlArgv(verb: SystemctlVerb, unit: GatewayUnit): string[] {
	// Config validation should already have refused this; re-checked because a name starting with "-"
	// would reach systemctl as an option.
	if (!UnitNameSchema.safeParse(unit.name).success) {
		throw new TypeError(`invalid systemd unit name: ${JSON.stringify(unit.name)}`);
	}
	return unit.scope === "user"
		? ["systemctl", "--user", verb, unit.name]
		: ["systemctl", verb, unit.name];
}

/** The argv of `systemctl [--user] show UNIT -p ...`: read-only, so no polkit rule is involved. */
export function systemctlShowArgv(unit: GatewayUnit): string[] {
	if (!UnitNameSchema.safeParse(unit.name).success) {
		throw new TypeError(`invalid systemd unit name: ${JSON.stringify(unit.name)}`);
	}
	const props = UNIT_SHOW_PROPERTIES.flatMap((p) => ["-p", p]);
	return unit.scope === "user"
		? ["systemctl", "--user", "show", unit.name, ...props]
		: ["systemctl", "show", unit.name, ...props];
}

export async function runSystemd(step: SystemdStep, ctx: StepContext): Promise<StepOutcome> {
	const verb: SystemctlVerb = step.type === "systemd-start" ? "start" : "stop";
	const unit: GatewayUnit = {
		name: step.unit ?? ctx.gatewayUnit.name,
		scope: ctx.gatewayUnit.scope,
	};
	if (!UnitNameSchema.safeParse(unit.name).success) {
		return {
			status: "failed",
			ms: 0,
			output: "",
			error: `invalid systemd unit name ${JSON.stringify(unit.name)}: expected e.g. "openclaw-gateway.service"`,
		};
	}
	const argv = systemctlArgv(verb, unit);
	const run = ctx.runCommand ?? runCommand;
	const result = await run({
		argv,
		env: userBusEnv(unit.scope),
		timeoutMs: step.timeoutMs,
		signal: ctx.signal,
	});
	return commandOutcome(argv.join(" "), result, hintFor(result.output, unit.scope));
}

/**
 * `systemctl --user` finds the user's manager through XDG_RUNTIME_DIR, which is unset when the agent was
 * started by the system manager with User=; /run/user/<uid> is where logind (with lingering) puts it.
 */
export function userBusEnv(scope: GatewayUnit["scope"]): Record<string, string> | undefined {
	if (scope !== "user" || process.env.XDG_RUNTIME_DIR || typeof process.getuid !== "function") {
		return undefined;
	}
	return { XDG_RUNTIME_DIR: `/run/user/${process.getuid()}` };
}

function hintFor(output: string, scope: GatewayUnit["scope"]): string | undefined {
	if (/Interactive authentication required|Access denied/i.test(output)) {
		return "permission denied: install the polkit rule from agent/systemd/ so the agent's user may start and stop this unit";
	}
	if (/not found|not loaded/i.test(output))
		return "no such unit: check the gateway unit name and scope";
	if (scope === "user" && /Failed to connect to bus/i.test(output)) {
		return "no user service manager: enable lingering (loginctl enable-linger <user>) or run the agent as a user service";
	}
	return undefined;
}
