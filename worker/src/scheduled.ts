// The cron backstop: makes sure every watch group's Durable Object has a live alarm, records a heartbeat, pings HEARTBEAT_URL.
import { loadConfig } from "./config-cache";
import { pingHeartbeat } from "./heartbeat";
import { type BackstopResult, watchdogFor } from "./watchdog";

export type BackstopOutcome =
	| ({ ok: true } & BackstopResult)
	| { ok: false; group: string; error: string };

export async function runBackstop(env: Env, now: number): Promise<BackstopOutcome[]> {
	const config = loadConfig(env.WATCHDOG_CONFIG, env.LOCAL_DEVELOPMENT);
	for (const e of config.globalErrors) console.error(`config: ${e.path}: ${e.message}`);
	for (const [pair, errors] of config.pairErrors) {
		for (const e of errors)
			console.error(`config (pair ${pair} not watched): ${e.path}: ${e.message}`);
	}
	const groups = [...config.groups]
		.filter(([, members]) => members.some((m) => config.pairs.has(m)))
		.map(([g]) => g);
	// Groups are independent: one object failing to answer must not stop the others being re-armed.
	const settled = await Promise.allSettled(
		groups.map((g) => watchdogFor(env, g).ensureAlarm(g, now)),
	);
	return settled.map((r, i): BackstopOutcome => {
		const group = groups[i] as string;
		if (r.status === "fulfilled") return { ok: true, ...r.value };
		console.error(`backstop: group ${group} did not answer`, r.reason);
		return { ok: false, group, error: String(r.reason) };
	});
}

export const scheduled: ExportedHandlerScheduledHandler<Env> = async (controller, env) => {
	// The controller's time, unless the cron was delivered late: the clock comes in from outside, so the
	// backstop is tested without fake timers.
	const outcomes = await runBackstop(env, Math.max(Date.now(), controller.scheduledTime));
	await pingHeartbeat(env.HEARTBEAT_URL, { skip: heartbeatSkipReason(outcomes) });
};

/**
 * Why this run must not tell the outside monitor "alive": no pair is watched at all, or a group's
 * Durable Object did not answer (its loop may be dead). The monitor then alerts when pings stop.
 */
export function heartbeatSkipReason(outcomes: readonly BackstopOutcome[]): string | undefined {
	if (outcomes.length === 0) return "no pair is watched (see /healthz for the config errors)";
	const failed = outcomes.filter((o) => !o.ok).map((o) => o.group);
	return failed.length > 0 ? `group(s) ${failed.join(", ")} did not answer` : undefined;
}
