// The watchdog's half of fencing: how long a decided promotion waits so an isolated primary fences itself first. Pure.
import { DEFAULT_LEASE_SECONDS } from "../../protocol";
import { hasAgent, leaseSecondsOf, type PairConfig } from "./config";

/**
 * The earliest time (ms since epoch) the promote may go out: the last lease naming the primary active
 * that could have reached it, plus the lease length, plus the fence margin. `leaseSentAt` undefined
 * (the shell does not know, e.g. after an eviction) counts as `now`. Without a primary agent, or with
 * `fencing: "off"`, there is no wait (returns `now`). The primary's agent fences on its own clock from
 * when that lease arrived, so clock skew between the two cannot shorten the wait.
 *
 * With no lease known to have reached it, the primary's agent may be fencing on the length it assumes
 * before its first lease, DEFAULT_LEASE_SECONDS counted from its own start (agent/src/agent.ts): a
 * shorter configured `leaseSeconds` would let the standby start first (seen in the lab: an agent cut
 * off 0.4 s after it connected fenced 20 s after the standby's gateway started). The wait then covers
 * the longer of the two.
 */
export function promoteNotBefore(
	config: PairConfig,
	now: number,
	leaseSentAt: number | undefined,
): number {
	if (config.fencing !== "self" || !hasAgent(config, "primary")) return now;
	const sent = Math.min(leaseSentAt ?? now, now);
	const leaseS =
		leaseSentAt === undefined
			? Math.max(leaseSecondsOf(config), DEFAULT_LEASE_SECONDS)
			: leaseSecondsOf(config);
	return Math.max(now, sent + leaseS * 1000 + config.fenceMarginSeconds * 1000);
}
