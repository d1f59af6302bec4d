// decide() on an operator command: pause, resume, promote, demote, failback, drill and reset-term. Pure.
import { MAX_TERM } from "../../protocol/terms";
import { activeState, type Draft } from "./decide-draft";
import { startDemotion } from "./decide-moves";
import type { Evidence, OperatorCommand, StateName } from "./types";

export function onOperator(d: Draft, command: OperatorCommand, term?: number): void {
	const s = d.s;
	const from = s.state;
	const ev: Evidence[] = [
		{
			witness: "operator",
			saw: `operator: ${command}${term !== undefined ? ` ${term}` : ""}`,
		},
	];
	switch (command) {
		case "pause":
			if (from === "paused") {
				d.refused = "the pair is already paused";
				return;
			}
			s.resumeTo = from;
			d.moveTo("paused", "paused by the operator");
			d.event(
				"paused",
				"info",
				from,
				"paused by the operator: no failover or failback until resumed",
				ev,
				"Resume the pair when maintenance is over.",
			);
			return;
		case "resume": {
			if (from === "standby-active" && s.failbackHeld) {
				s.failbackHeld = false;
				d.event(
					"resumed",
					"info",
					from,
					"resumed by the operator: automatic failback is allowed again",
					ev,
				);
				return;
			}
			if (from !== "paused" && from !== "held") {
				d.refused = `resume applies to a paused or held pair; this pair is ${from}`;
				return;
			}
			const to = from === "paused" && s.resumeTo ? s.resumeTo : activeState(d);
			s.resumeTo = null;
			s.maintenanceUntil = null;
			if (from === "held") {
				s.failovers = [];
				s.failbackHeld = false;
			}
			d.moveTo(to, `resumed by the operator (was ${from})`);
			d.event("resumed", "info", from, `resumed by the operator; back to ${to}`, ev);
			if (s.pending && (to === "promoting" || to === "demoting" || to === "primary-active"))
				d.poll();
			return;
		}
		case "promote":
			if (from === "paused") {
				d.refused = "the pair is paused: resume it first";
				return;
			}
			if (s.active === "standby") {
				d.refused = "the standby is already active";
				return;
			}
			if (s.pending && s.pending.action !== "sync") {
				d.refused = `a ${s.pending.action} is already in progress`;
				return;
			}
			if (s.term >= MAX_TERM) {
				d.refused = `the term is at its maximum (${MAX_TERM}): reset-term first`;
				return;
			}
			d.event("operator", "info", from, "operator forced a promotion", ev, "", false);
			s.term += 1;
			s.failovers = [...s.failovers, d.now];
			d.moveTo("promoting", "promotion forced by the operator");
			d.issue("promote", s.term, 1);
			d.event(
				"promoting",
				"critical",
				from,
				`failing over to the standby (term ${s.term}): forced by the operator`,
				ev,
				"Nothing to do: the standby pulls the workspace and starts its gateway. You will be told when it is serving.",
			);
			return;
		case "demote":
		case "failback":
			if (from === "paused") {
				d.refused = "the pair is paused: resume it first";
				return;
			}
			if (s.active !== "standby" || s.pending) {
				d.refused =
					s.active !== "standby"
						? `${command} applies when the standby is active; the primary is active`
						: `a ${s.pending?.action} is already in progress`;
				return;
			}
			if (command === "failback" && from !== "standby-active") {
				d.refused = `failback applies in standby-active; this pair is ${from} (use demote to force)`;
				return;
			}
			startDemotion(d, from, `${command} requested by the operator`, ev);
			return;
		case "drill": {
			const why =
				from !== "primary-active"
					? `a drill starts from primary-active; this pair is ${from}`
					: s.pending && s.pending.action !== "sync"
						? `a ${s.pending.action} is already in progress`
						: s.fails > 0
							? "the primary is failing right now: a drill needs a healthy primary to fail back to"
							: s.term >= MAX_TERM
								? `the term is at its maximum (${MAX_TERM}): reset-term first`
								: undefined;
			if (why !== undefined) {
				d.refused = why;
				return;
			}
			// A drill is a test, not a failure: it does not count toward flap damping.
			s.term += 1;
			s.drill = { startedAt: d.now };
			d.commands = d.commands.filter((c) => c.action !== "sync");
			d.moveTo("promoting", "drill: promoting the standby");
			d.issue("promote", s.term, 1);
			d.event(
				"drill",
				"info",
				from,
				`drill started (term ${s.term}): promoting the standby, then failing back as soon as it is ready`,
				ev,
			);
			return;
		}
		case "reset-term":
			resetTerm(d, from, term, ev);
			return;
		default:
			command satisfies never;
	}
}

/**
 * Sets the pair's term: to `term` when the operator gives one, otherwise to the highest term the
 * agents last reported (their own state, which they accept commands above). Refused while a promote or
 * demote is in flight (its op id carries the old term) and for a term with no room for one more
 * promotion. A pending sync is dropped: it carries the old term. Lowering the term is allowed: it is
 * how a poisoned term is undone; an agent still above it refuses commands as stale until its own
 * term is reset (docs/runbook.md, "Term anomaly").
 */
function resetTerm(d: Draft, from: StateName, term: number | undefined, ev: Evidence[]): void {
	const s = d.s;
	if (s.pending && s.pending.action !== "sync") {
		d.refused = `a ${s.pending.action} is in progress; reset the term once it has finished`;
		return;
	}
	const reported = [s.agentTerms?.standby, s.agentTerms?.primary].filter(
		(t): t is number => typeof t === "number",
	);
	const target = term ?? (reported.length > 0 ? Math.max(...reported) : undefined);
	if (target === undefined) {
		d.refused = "no agent has reported a term yet: give the term to set";
		return;
	}
	if (!Number.isInteger(target) || target < 0 || target >= MAX_TERM) {
		d.refused = `expected a term from 0 to ${MAX_TERM - 1} (room for one more promotion), got ${target}`;
		return;
	}
	const was = s.term;
	s.term = target;
	s.pending = s.pending?.action === "sync" ? null : s.pending;
	d.clear("term-anomaly");
	d.event(
		"term-reset",
		"info",
		from,
		`the operator set the pair's term to ${target} (was ${was}${term === undefined ? "; the agents' highest reported term" : ""})`,
		ev,
	);
}
