// The watchdog's half of fencing: how long a decided promotion waits so an isolated primary fences itself first. Pure.
import { hasAgent, leaseSecondsOf, type PairConfig } from "./config";

/**
 * The earliest time (ms since epoch) the promote may go out: the last lease naming the primary active
 * that could have reached it, plus the lease length, plus the fence margin. `leaseSentAt` undefined
 * (the shell does not know, e.g. after an eviction) counts as `now`. Without a primary agent, or with
 * `fencing: "off"`, there is no wait (returns `now`). The primary's agent fences on its own clock from
 * when that lease arrived, so clock skew between the two cannot shorten the wait.
 */
export function promoteNotBefore(
	config: PairConfig,
	now: number,
	leaseSentAt: number | undefined,
): number {
	if (config.fencing !== "self" || !hasAgent(config, "primary")) return now;
	const sent = Math.min(leaseSentAt ?? now, now);
	return Math.max(now, sent + leaseSecondsOf(config) * 1000 + config.fenceMarginSeconds * 1000);
}
