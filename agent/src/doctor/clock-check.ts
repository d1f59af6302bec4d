// Doctor: the clock is synchronized (signed requests more than MAX_SKEW_MS off are refused).
import { MAX_SKEW_MS } from "../../../protocol";
import { type CheckResult, type DoctorDeps, fail, pass, runQuiet } from "./check";

/**
 * With `timeUrl` (the Worker), compares this clock with its Date header (1 s resolution, so half the
 * protocol's window is the bound); otherwise asks timedatectl whether NTP has synchronized the clock.
 */
export async function checkClock(deps: DoctorDeps, timeUrl?: string): Promise<CheckResult[]> {
	if (timeUrl !== undefined) {
		try {
			const sent = deps.now();
			const res = await deps.fetch(timeUrl, {
				method: "HEAD",
				signal: AbortSignal.timeout(10_000),
			});
			const date = Date.parse(res.headers.get("date") ?? "");
			if (Number.isNaN(date)) throw new Error("no Date header in the answer");
			const mid = (sent + deps.now()) / 2;
			const skew = Math.round(mid - date);
			if (Math.abs(skew) > MAX_SKEW_MS / 2) {
				return [
					fail(
						"clock",
						`this clock is ${skew} ms off ${new URL(timeUrl).host} (signed commands are refused beyond ${MAX_SKEW_MS} ms)`,
						"sudo timedatectl set-ntp true && timedatectl timesync-status",
					),
				];
			}
			return [pass("clock", `within ${Math.abs(skew)} ms of ${new URL(timeUrl).host}`)];
		} catch (e) {
			return [
				fail(
					"clock",
					`cannot read the time from ${timeUrl}: ${(e as Error).message}`,
					`curl -sI ${timeUrl}`,
				),
			];
		}
	}
	const r = await runQuiet(deps, ["timedatectl", "show", "--property=NTPSynchronized", "--value"]);
	if (r.output === "yes") return [pass("clock", "synchronized (timedatectl: NTPSynchronized=yes)")];
	return [
		fail(
			"clock",
			`not synchronized (timedatectl: ${r.output || r.spawnError || "no answer"}); a clock ${MAX_SKEW_MS / 1000} s off makes every signed command refused`,
			"sudo timedatectl set-ntp true && timedatectl timesync-status",
		),
	];
}
