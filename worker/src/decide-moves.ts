// Transitions shared by the tick, command and operator handlers of decide(): start a failback, end a drill, take the next term. Pure.
import { MAX_TERM } from "../../protocol/terms";
import type { Draft } from "./decide-draft";
import type { Evidence, StateName } from "./types";

/**
 * The next term, or null (after holding the pair with an event) when it would pass MAX_TERM: a term the
 * agents' schema rejects would make every command fail.
 */
export function nextTerm(d: Draft, from: StateName, evidence: Evidence[]): number | null {
	if (d.s.term < MAX_TERM) return d.s.term + 1;
	d.moveTo("held", `the term is at its maximum (${MAX_TERM})`);
	d.event(
		"held",
		"critical",
		from,
		`cannot issue a term above ${MAX_TERM}; holding instead of sending a command the agents would refuse`,
		evidence,
		"Reset the pair's term (POST /api/v1/pairs/<pair>/reset-term) after checking the agents' terms; see docs/runbook.md, \"Term anomaly\".",
	);
	return null;
}

export function startDemotion(d: Draft, from: StateName, why: string, evidence: Evidence[]): void {
	d.moveTo("demoting", why);
	d.issue("demote", d.s.term, 1);
	d.event(
		"demoting",
		"info",
		from,
		`failing back to the primary: ${why}. The standby stops its gateway and pushes its workspace first`,
		evidence,
	);
}

/** Records how a drill ended (when one is running) and says so in one notified event. */
export function endDrill(d: Draft, ok: boolean, why: string): void {
	const s = d.s;
	const drill = s.drill;
	if (!drill) return;
	const promoteMs = drill.promotedAt !== undefined ? drill.promotedAt - drill.startedAt : undefined;
	const demoteMs = ok && drill.promotedAt !== undefined ? d.now - drill.promotedAt : undefined;
	const outcome = ok
		? `drill passed: promote ${fmtMs(promoteMs ?? 0)}, demote ${fmtMs(demoteMs ?? 0)}, total ${fmtMs(d.now - drill.startedAt)}`
		: `drill failed: ${why}`;
	s.lastDrill = { ...drill, finishedAt: d.now, ok, outcome };
	s.drill = null;
	d.event(
		"drill",
		ok ? "info" : "warning",
		s.state,
		outcome,
		[],
		ok ? "" : "Look at the event log and the standby agent's status before relying on failover.",
	);
}

export function fmtMs(ms: number): string {
	return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}
