// Turns each side's workspace replication report into remembered facts and deduplicated events. Pure.
import {
	cleared,
	describeFacts,
	problemEvent,
	problemLabel,
	recoveredText,
	refusedEvent,
	whose,
} from "./replication-messages";
import type {
	EventKind,
	Evidence,
	PrimaryAgentView,
	ReplicationFacts,
	ReplicationMemo,
	ReplicationReport,
	Severity,
	Side,
	StandbyView,
} from "./types";

/** Bounds on what the pair state keeps of a problem's text (it rides in every tick's observation row). */
export const MAX_PROBLEM_MESSAGE = 512;
export const MAX_PROBLEM_HINT = 512;
/**
 * Refused paths remembered as reported. Twice the agent's list (32, newest first): a path pushed out
 * of the agent's list and back in is not reported again until 64 newer ones have passed.
 */
export const MAX_REFUSED_SEEN = 64;
/**
 * The watchdog's own stall net, ms: an active side whose oldest unpushed commit is older than this while
 * its agent reports no problem is reported as stalled anyway (a replication cycle that no longer runs
 * reports nothing itself). An hour: well past the agent's default stall warning (stallWarnSeconds, 300),
 * so it only speaks when the agent cannot or was told to stay quiet longer.
 */
export const WATCHDOG_STALL_MS = 3_600_000;
/** What this tick learnt of one side's replication. */
export type ReplicationRead =
	/** The agent was not asked or did not answer: nothing learnt, the memo stays as it was. */
	| { kind: "not-read" }
	/** An agent older than the field: it says nothing about replication. */
	| { kind: "not-reported" }
	/** The agent reports replication not configured (`replication: null`). */
	| { kind: "off" }
	| { kind: "report"; report: ReplicationReport };

/** An event for decide() to emit as it is (from/to/term/at are decide()'s). */
export interface ReplicationEvent {
	kind: EventKind;
	severity: Severity;
	summary: string;
	evidence: Evidence[];
	next: string;
}

export interface ReplicationStep {
	/** undefined: nothing is known of the side's replication (an older agent). */
	memo: ReplicationMemo | undefined;
	events: ReplicationEvent[];
}

/** The replication part of an agent view (a standby view or the primary agent's view). */
export function replicationRead(view: StandbyView | PrimaryAgentView | undefined): ReplicationRead {
	if (view === undefined || !view.reachable) return { kind: "not-read" };
	if (view.replication === undefined) return { kind: "not-reported" };
	if (view.replication === null) return { kind: "off" };
	return { kind: "report", report: view.replication };
}

/**
 * Kinds that stand until the agent reports them gone: a warning when they appear (again when the
 * reason changes), one info event when they clear, and a line in the pair's problems meanwhile.
 * "merge-conflicts" is the exception: a fact about one merge (the agent reports it for the cycle
 * that merged), so it is told once and clears silently.
 */
const ONE_SHOT_KINDS: ReadonlySet<string> = new Set(["merge-conflicts"]);

/**
 * One side's step: the memo it had, what this tick read, and the Worker's clock (ms) -> the memo to keep
 * and the events to emit. Events: a warning when a problem appears or its reason changes (kind or
 * message, numbers ignored), an info event when it clears, a warning naming refused paths not reported
 * before. A side not read this tick keeps its memo and emits nothing.
 */
export function replicationStep(
	side: Side,
	prev: ReplicationMemo | undefined,
	read: ReplicationRead,
	now: number,
): ReplicationStep {
	switch (read.kind) {
		case "not-read":
			return { memo: prev, events: [] };
		case "not-reported":
			// Nothing to compare against: an agent downgraded past the field says nothing either way.
			return { memo: undefined, events: [] };
		case "off": {
			const events: ReplicationEvent[] = [];
			if (prev?.raised && !ONE_SHOT_KINDS.has(prev.raised.kind)) {
				events.push(
					cleared(prev.raised.kind, `${whose(side)} agent no longer has replication configured`, [
						{ witness: "agent", saw: `${side} agent: replication not configured` },
					]),
				);
			}
			return {
				memo: { seenAt: now, facts: null, raised: null, refusedSeen: prev?.refusedSeen ?? [] },
				events,
			};
		}
		case "report":
			return fromReport(side, prev, read.report, now);
		default:
			return read satisfies never;
	}
}

function fromReport(
	side: Side,
	prev: ReplicationMemo | undefined,
	report: ReplicationReport,
	now: number,
): ReplicationStep {
	const facts = withStallNet(factsOf(report, now), now);
	// Built only when there is something to say: most ticks have no event.
	const evidence = (): Evidence[] => [{ witness: "agent", saw: describeFacts(side, facts, now) }];
	const events: ReplicationEvent[] = [];
	let raised = prev?.raised ?? null;
	const p = facts.problem;
	if (p === null) {
		if (raised && !ONE_SHOT_KINDS.has(raised.kind))
			events.push(cleared(raised.kind, recoveredText(side, facts, now), evidence()));
		raised = null;
	} else {
		const reason = reasonKey(p.kind, p.message);
		if (raised?.reason !== reason) {
			events.push(problemEvent(side, facts, p, evidence(), now));
			raised = { kind: p.kind, reason, at: now };
		}
	}
	const seen = prev?.refusedSeen ?? [];
	const fresh: string[] = [];
	const hashes: string[] = [];
	for (const path of report.status.refused) {
		const h = fnv(path);
		if (seen.includes(h) || hashes.includes(h)) continue;
		fresh.push(path);
		hashes.push(h);
	}
	let refusedSeen = seen;
	if (fresh.length > 0) {
		// The agent lists newest first; remember oldest first so the oldest fall off the bound.
		refusedSeen = [...seen, ...hashes.reverse()].slice(-MAX_REFUSED_SEEN);
		events.push(refusedEvent(side, fresh, evidence()));
	}
	return { memo: { seenAt: now, facts, raised, refusedSeen }, events };
}

/** The report's facts with the agent's times moved onto the Worker's clock (its ages are exact; its clock may be off). */
export function factsOf(report: ReplicationReport, now: number): ReplicationFacts {
	const s = report.status;
	// When the agent wrote the status, on the Worker's clock.
	const at = now - Math.max(0, report.ageMs);
	const agentTime = (t: number | null) => (t === null ? null : at - (report.agentNow - t));
	const ago = (age: number | null) => (age === null ? null : at - age);
	return {
		mode: s.mode,
		lastPushAt: ago(s.lastPushAgeMs),
		pendingCommits: s.pendingCommits,
		oldestPendingAt: ago(s.oldestPendingAgeMs),
		behindCommits: s.behindCommits,
		lastFetchAt: agentTime(s.lastFetchAt),
		heldBranch: s.heldBranch,
		watch: s.watch,
		problem:
			s.problem === null
				? null
				: {
						kind: s.problem.kind,
						message: s.problem.message.slice(0, MAX_PROBLEM_MESSAGE),
						hint: s.problem.hint.slice(0, MAX_PROBLEM_HINT),
						since: agentTime(s.problem.since) ?? at,
					},
		refusedCount: s.refused.length,
	};
}

/** The facts with a "stalled" problem when the agent reports none but its commits wait past WATCHDOG_STALL_MS. */
export function withStallNet(f: ReplicationFacts, now: number): ReplicationFacts {
	if (f.problem !== null || f.mode !== "active" || f.pendingCommits === 0) return f;
	if (f.oldestPendingAt === null || now - f.oldestPendingAt <= WATCHDOG_STALL_MS) return f;
	return {
		...f,
		problem: {
			kind: "stalled",
			message: `commits unpushed for over ${WATCHDOG_STALL_MS / 60_000} min and the agent reports no problem (seen by the watchdog): its replication cycle may no longer run`,
			hint: "look at the agent's log (journalctl -u failover-agent) for the last replication cycle and restart the agent if none ran lately; the commits are kept in the workspace",
			since: f.oldestPendingAt + WATCHDOG_STALL_MS,
		},
	};
}

/**
 * The identity of a problem's reason: its kind and message with numbers and commit ids blanked, so a
 * count or an age that moves ("3 commit(s) kept", "unpushed for 612 s") is not a new reason, while a
 * different error text is. A short hash: it is kept in the pair state.
 */
export function reasonKey(kind: string, message: string): string {
	const shape = message.replace(/\b[0-9a-f]{7,40}\b/gi, "#").replace(/\d+/g, "#");
	return fnv(`${kind}|${shape}`);
}

/** The memo's part that must reach the pair_state row at once: what was announced (facts ride in each tick's row). */
export function replicationMaterial(
	r: Partial<Record<Side, ReplicationMemo>> | undefined,
): unknown {
	if (r === undefined) return undefined;
	const out: Record<string, unknown> = {};
	for (const [side, m] of Object.entries(r))
		if (m) out[side] = { raised: m.raised, refusedSeen: m.refusedSeen, off: m.facts === null };
	return out;
}

/** The problems a pair summary lists for replication: the raised standing ones, public-safe (labels only). */
export function replicationProblems(
	r: Partial<Record<Side, ReplicationMemo>> | undefined,
): string[] {
	const out: string[] = [];
	for (const side of ["primary", "standby"] as const) {
		const raised = r?.[side]?.raised;
		if (raised && !ONE_SHOT_KINDS.has(raised.kind))
			out.push(`${whose(side)} workspace replication: ${problemLabel(raised.kind)}`);
	}
	return out;
}

/** FNV-1a, 32 bit, as 8 hex digits: telling reasons and paths apart, not a security measure. */
function fnv(text: string): string {
	let h = 0x811c9dc5;
	for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
	return (h >>> 0).toString(16).padStart(8, "0");
}
