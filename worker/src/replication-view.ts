// What the status API shows of each side's workspace replication: a public-safe summary and the admin detail.
import type { ReplicationMode } from "../../protocol";
import type {
	PairState,
	PrimaryAgentView,
	ReplicationFacts,
	ReplicationMemo,
	Side,
	StandbyView,
} from "./types";

/**
 * One side's replication in a pair summary, from PairState.replication (no storage read). Public: only
 * modes, times (ms since epoch, Worker clock), counts and problem kinds, never a message, hint, path,
 * branch or remote, which may name private hosts and files. `mode: "off"`: the agent reports
 * replication not configured. The standby's lag is `behindCommits`.
 */
export type ReplicationSummary =
	| { mode: "off"; seenAt: number }
	| {
			mode: Exclude<ReplicationMode, "off">;
			/** When the Worker last read this side's agent. */
			seenAt: number;
			lastPushAt: number | null;
			pendingCommits: number;
			oldestPendingAt: number | null;
			behindCommits: number | null;
			lastFetchAt: number | null;
			watch: ReplicationFacts["watch"];
			/** The agent's current problem: its kind (a stable tag) and since when. */
			problem: { kind: string; since: number } | null;
			refusedCount: number;
	  };

/** One side's replication in a pair's detail (token holders): the summary plus the agent's own words. */
export interface ReplicationDetail {
	seenAt: number;
	/** null: not configured on that agent. */
	facts: ReplicationFacts | null;
	/** The problem a warning went out for and that has not cleared (kind, when raised). */
	raised: { kind: string; at: number } | null;
	/**
	 * Paths the agent refuses to replicate, newest first, from its status as this object last read it;
	 * empty when this object has not read that agent since it started (the events name them too).
	 */
	refused: string[];
}

const SIDES = ["primary", "standby"] as const;

/** Each side's summary; undefined when no side has reported replication. */
export function replicationSummary(
	s: PairState | undefined,
): Partial<Record<Side, ReplicationSummary>> | undefined {
	const r = s?.replication;
	if (!r) return undefined;
	const out: Partial<Record<Side, ReplicationSummary>> = {};
	for (const side of SIDES) {
		const m = r[side];
		if (m) out[side] = summaryOf(m);
	}
	return Object.keys(out).length > 0 ? out : undefined;
}

function summaryOf(m: ReplicationMemo): ReplicationSummary {
	const f = m.facts;
	if (f === null || f.mode === "off") return { mode: "off", seenAt: m.seenAt };
	return {
		mode: f.mode,
		seenAt: m.seenAt,
		lastPushAt: f.lastPushAt,
		pendingCommits: f.pendingCommits,
		oldestPendingAt: f.oldestPendingAt,
		behindCommits: f.behindCommits,
		lastFetchAt: f.lastFetchAt,
		watch: f.watch,
		problem: f.problem === null ? null : { kind: f.problem.kind, since: f.problem.since },
		refusedCount: f.refusedCount,
	};
}

/** Each side's detail, from the state and the agents' last views held in memory. */
export function replicationDetail(
	s: PairState | undefined,
	views: { primary?: PrimaryAgentView | undefined; standby?: StandbyView | undefined },
): Partial<Record<Side, ReplicationDetail>> {
	const out: Partial<Record<Side, ReplicationDetail>> = {};
	for (const side of SIDES) {
		const m = s?.replication?.[side];
		if (!m) continue;
		const v = views[side];
		const live = v?.reachable ? v.replication : undefined;
		out[side] = {
			seenAt: m.seenAt,
			facts: m.facts,
			raised: m.raised ? { kind: m.raised.kind, at: m.raised.at } : null,
			refused: live ? [...live.status.refused] : [],
		};
	}
	return out;
}
