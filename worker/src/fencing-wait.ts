// The watchdog's half of fencing: what it remembers of the primary's leases, and how long a decided promotion waits for them. Pure.
import { DEFAULT_LEASE_SECONDS } from "../../protocol";
import { hasAgent, leaseSecondsOf, type PairConfig } from "./config";
import type { LeaseSent, PrimaryLeaseMemo } from "./types";

/*
 * What the primary's fence counts (agent/src/fencing.ts, agent/src/agent.ts): it stops the gateway at
 * the arrival of the newest lease naming it active plus that lease's own length, or after a restart the
 * arrival and length its record holds (agent/src/lease-record.ts: one lease naming it, which may lag
 * the newest). A lease naming nobody or the standby moves neither. Either way the fence runs out by
 * `s + L`, where `s` is the arrival of a lease naming it active and `L` that lease's length, so `s + L`
 * is at most `min(heldAt, t_L) + L`, `t_L` being the last time a lease of length L went out. The Worker
 * does not know which lease arrived, so it must cover every length it sent until that bound has passed:
 * the newest length from `heldAt`, and the longest older one from when it was replaced (`longer`). It
 * also covers the lengths of leases naming nobody (`seconds`, the config's), which the fence no longer
 * counts: a wait longer than needed, never shorter.
 */

/**
 * The memo after `sent` went out to the primary's agent and may have reached it (pure). Called on
 * every tick that sent one (decide(), from the observation), so it is as durable as the pair state.
 * A shorter length than the memo's keeps the old one in `longer`, until the newest length from a later
 * `heldAt` covers it; a longer length needs nothing kept (it covers the shorter one from then on).
 * The memo changes in `heldAt` alone on most ticks (not worth a state row: store.ts materialOf); the
 * rest changes only with the length.
 * `prev` undefined (a pair state from before the memo existed) starts afresh: lengths granted before
 * that are not known (docs/runbook.md: do not shorten the lease in the deploy that brings this in).
 */
export function noteLeaseSent(
	prev: PrimaryLeaseMemo | undefined,
	sent: LeaseSent,
): PrimaryLeaseMemo {
	const heldAt = sent.namesPrimary ? sent.at : (prev?.heldAt ?? null);
	let longer = prev?.longer ?? null;
	if (prev !== undefined && prev.seconds > sent.seconds) {
		// A fence on the old length counts from a lease naming the primary that went out by the memo's
		// heldAt (this tick's carries the new length); none known: from the old length's last send, now.
		const runsOutAt = Math.min(prev.heldAt ?? sent.at, sent.at) + prev.seconds * 1000;
		longer =
			longer === null
				? { seconds: prev.seconds, runsOutAt }
				: {
						seconds: Math.max(longer.seconds, prev.seconds),
						runsOutAt: Math.max(longer.runsOutAt, runsOutAt),
					};
	}
	// Both bounds get the same margin, so one the newest length covers can go (one state write).
	if (longer !== null && heldAt !== null && longer.runsOutAt <= heldAt + sent.seconds * 1000) {
		longer = null;
	}
	return { heldAt, seconds: sent.seconds, longer };
}

/**
 * The earliest time (ms since epoch) the promote may go out: every lease the primary's agent may still
 * fence by has run out, plus the fence margin. That is the newest length it may hold (the memo's, or
 * the config's when longer: more than the fence needs, as only a lease naming it moves it) counted
 * from the last lease naming it active that could have reached it (`memo.heldAt`), and the longer
 * length an earlier config granted until its bound (`memo.longer`). Without a primary agent, or with `fencing: "off"`,
 * there is no wait (returns `now`). The primary's agent fences on its own clock from when that lease
 * arrived, so clock skew between the two cannot shorten the wait.
 *
 * With no lease naming it active known to have reached it (`heldAt` null, or no memo), the wait counts
 * from `now`, and the primary's agent may be fencing on the length it assumes before its first lease,
 * DEFAULT_LEASE_SECONDS counted from its own start (agent/src/agent.ts): a shorter configured
 * `leaseSeconds` would let the standby start first (seen in the lab: an agent cut off 0.4 s after it
 * connected fenced 20 s after the standby's gateway started). The wait then covers the longer of the two.
 *
 * `now` is the decision's time; a wait already running re-checks from its decision (`since`), not
 * from the tick, so an unknown `heldAt` cannot push it out tick after tick.
 *
 * Not covered (docs/architecture.md): lengths granted before the memo existed (no memo: the first
 * deploy of it), and, with `leaseSeconds` under the default, an agent that kept no lease although one
 * may have reached it by the Worker's count (over HTTP an attempt counts), started or restarted with
 * no record and cut off at once: it fences DEFAULT_LEASE_SECONDS after that start.
 */
export function promoteNotBefore(
	config: PairConfig,
	now: number,
	memo: PrimaryLeaseMemo | undefined,
): number {
	if (config.fencing !== "self" || !hasAgent(config, "primary")) return now;
	const seconds = Math.max(leaseSecondsOf(config), memo?.seconds ?? 0);
	const heldAt = memo?.heldAt ?? null;
	const newest =
		heldAt === null
			? now + Math.max(seconds, DEFAULT_LEASE_SECONDS) * 1000
			: Math.min(heldAt, now) + seconds * 1000;
	const older = memo?.longer?.runsOutAt ?? Number.NEGATIVE_INFINITY;
	return Math.max(now, Math.max(newest, older) + config.fenceMarginSeconds * 1000);
}
