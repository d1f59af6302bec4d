// Reads the gateway's systemd unit state (`systemctl show`, argv only, with a deadline) for the local-gateway check.
import { type CommandRunner, describeFailure } from "./steps/run-command";
import { systemctlShowArgv, userBusEnv } from "./steps/systemd-step";
import type { GatewayUnit } from "./steps/types";

/** What systemd says about the unit. `startedMonoUs`: CLOCK_MONOTONIC µs when the unit last left "inactive". */
export interface UnitState {
	/** systemd's ActiveState: active, activating, deactivating, reloading, inactive, failed. */
	readonly activeState: string;
	readonly subState: string;
	readonly startedMonoUs?: number;
}

/** A unit read is evidence or a reason it is missing: never an exception. */
export type UnitRead = { ok: true; unit: UnitState } | { ok: false; reason: string };

/**
 * Parses `systemctl show -p ...` output (KEY=VALUE lines). A unit systemd does not know comes back
 * with LoadState=not-found and ActiveState=inactive: that is "no such unit", not "stopped".
 */
export function parseUnitShow(text: string, unitName: string): UnitRead {
	const fields = new Map<string, string>();
	for (const line of text.split("\n")) {
		const eq = line.indexOf("=");
		if (eq > 0) fields.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
	}
	const load = fields.get("LoadState");
	const activeState = fields.get("ActiveState");
	if (load === "not-found")
		return { ok: false, reason: `no unit ${unitName} (LoadState=not-found)` };
	if (activeState === undefined || activeState === "") {
		return { ok: false, reason: "systemctl show printed no ActiveState" };
	}
	// InactiveExit is when the current run began (before "activating"); ActiveEnter is the fallback for
	// units whose start has no activating phase. 0 means "never".
	const started =
		positive(fields.get("InactiveExitTimestampMonotonic")) ??
		positive(fields.get("ActiveEnterTimestampMonotonic"));
	return {
		ok: true,
		unit: {
			activeState,
			subState: fields.get("SubState") ?? "",
			...(started !== undefined ? { startedMonoUs: started } : {}),
		},
	};
}

function positive(text: string | undefined): number | undefined {
	if (text === undefined || !/^\d{1,19}$/.test(text)) return undefined;
	const n = Number(text);
	return n > 0 && Number.isSafeInteger(n) ? n : undefined;
}

/** Reads the unit through `run` (the real spawn runner or a test's fake); ends by `timeoutMs`. */
export async function readUnit(
	unit: GatewayUnit,
	run: CommandRunner,
	timeoutMs: number,
	signal?: AbortSignal,
): Promise<UnitRead> {
	let argv: string[];
	try {
		argv = systemctlShowArgv(unit);
	} catch (e) {
		return { ok: false, reason: (e as Error).message };
	}
	const env = userBusEnv(unit.scope);
	const result = await run({
		argv,
		timeoutMs,
		...(env ? { env } : {}),
		...(signal ? { signal } : {}),
	});
	const failure = describeFailure("systemctl show", result);
	if (failure !== undefined) {
		const said = result.output.trim().split("\n").at(-1)?.slice(0, 120);
		return { ok: false, reason: said ? `${failure}: ${said}` : failure };
	}
	return parseUnitShow(result.output, unit.name);
}

/** CLOCK_MONOTONIC in µs, the clock systemd's *TimestampMonotonic properties use (libuv reads the same clock). */
export function monotonicNowUs(): number {
	return Number(process.hrtime.bigint() / 1000n);
}
