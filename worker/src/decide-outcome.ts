// decide() on an agent's answer to a command: promote, demote and sync results, retries, give-ups and drills. Pure.
import { MAX_TERM } from "../../protocol/terms";
import { hasAgent } from "./config";
import type { Draft } from "./decide-draft";
import { endDrill, fmtMs, nextTerm, startDemotion } from "./decide-moves";
import type { CommandOutcome, EventKind, Evidence, PendingCommand } from "./types";

export function onCommand(d: Draft, outcome: CommandOutcome): void {
	const s = d.s;
	const p = s.pending;
	if (!p || p.opId !== outcome.opId) return; // A late answer for a superseded command changes nothing.
	// Paused means nothing moves and nothing is sent. The op stays pending: resume polls the same op id
	// and the agent replays this result (a repeated id returns the first result).
	if (s.state === "paused") return;
	const evidence: Evidence[] = [
		{
			witness: "agent",
			saw: `${outcome.action} ${outcome.opId}: ${outcome.result}: ${outcome.detail}`,
		},
	];
	if (outcome.result === "running") return;
	applyOutcome(d, p, outcome, evidence);
	// After the outcome's own event, so a reader sees "promoted" and then what needs reconciling.
	if (outcome.result === "succeeded") stepWarningEvents(d, p, outcome, evidence);
}

function applyOutcome(
	d: Draft,
	p: PendingCommand,
	outcome: CommandOutcome,
	evidence: Evidence[],
): void {
	const s = d.s;
	if (p.action === "sync") return onSyncOutcome(d, p, outcome, evidence);
	if (outcome.result === "unreachable") return; // Polled again next tick; a lost standby is caught by tickInFlight.
	const from = s.state;
	if (outcome.result === "succeeded") {
		s.pending = null;
		if (p.action === "promote") {
			s.active = "standby";
			s.activeSince = d.now;
			// Recovery is counted from the primary's return after the promotion, never before it.
			s.oks = 0;
			s.okSince = null;
			d.moveTo("standby-active", "standby promoted and ready");
			if (s.drill) {
				continueDrill(d, evidence);
				return;
			}
			d.event(
				"promoted",
				"critical",
				from,
				`the standby is serving (term ${s.term})`,
				evidence,
				"Nothing to do now. Fix the primary; failback happens automatically once it has been ready for a while (or manually, if failback is manual).",
			);
		} else {
			s.active = "primary";
			s.activeSince = d.now;
			s.fails = 0;
			s.failbackHeld = false;
			// A drill's failback is a test: a failure after it is not a flap.
			if (!s.drill) s.lastFailbackAt = d.now;
			d.moveTo("primary-active", "failback complete");
			d.event(
				"demoted",
				"info",
				from,
				"failback complete: the standby stopped and pushed its workspace; the primary is active",
				evidence,
				hasAgent(d.config, "primary")
					? ""
					: "No primary agent is configured: run `git pull` in the primary's workspace to get what the standby wrote.",
			);
			if (hasAgent(d.config, "primary")) d.issue("sync", s.term, 1);
			if (s.drill) endDrill(d, true, "");
		}
		return;
	}
	const verb = p.action === "promote" ? "promotion" : "failback";
	if (outcome.result === "unsupported") {
		s.pending = null;
		// The shell cannot send commands at all (no or a bad WATCHDOG_PRIVATE_KEY): say what it would have done.
		d.moveTo("held", `cannot ${p.action}: ${outcome.detail}`);
		d.event(
			p.action === "promote" ? "promote-failed" : "demote-failed",
			"critical",
			from,
			`${outcome.detail}; nothing was sent`,
			evidence,
			"Set WATCHDOG_PRIVATE_KEY (npx wrangler secret put WATCHDOG_PRIVATE_KEY) and the standby agent's URL, then resume the pair.",
		);
		endDrill(d, false, `the ${p.action} could not be sent`);
		freshTermAfterGivingUp(d, p);
		return;
	}
	// failed or rejected
	const failedKind = p.action === "promote" ? "promote-failed" : "demote-failed";
	if (p.attempt >= d.config.commandAttempts) {
		s.pending = null;
		d.moveTo("held", `${verb} failed ${p.attempt} times`);
		endDrill(d, false, `the ${p.action} failed ${p.attempt} times`);
		d.event(
			failedKind,
			"critical",
			from,
			`${verb} failed ${p.attempt} times (${outcome.result}: ${outcome.detail}); holding for an operator`,
			evidence,
			`Look at the standby agent's status and logs (failover-agent call <url> status). Fix the cause, then resume the pair or force a ${p.action}.`,
		);
		freshTermAfterGivingUp(d, p);
		return;
	}
	// A rejection for a stale term means the agent has seen a newer one: move past it.
	let term = p.term;
	if (outcome.result === "rejected" && p.action === "promote") {
		if (s.term >= MAX_TERM) {
			s.pending = null;
			endDrill(d, false, "the term is at its maximum");
			nextTerm(d, from, evidence);
			return;
		}
		term = s.term + 1;
		s.term = term;
	}
	d.issue(p.action, term, p.attempt + 1);
	d.event(
		failedKind,
		"warning",
		from,
		`${verb} attempt ${p.attempt} ${outcome.result}: ${outcome.detail}; retrying (attempt ${p.attempt + 1} of ${d.config.commandAttempts})`,
		evidence,
	);
}

/** The standby is up in a drill: demote at once, unless the primary has really failed meanwhile. */
function continueDrill(d: Draft, evidence: Evidence[]): void {
	const s = d.s;
	const drill = s.drill;
	if (!drill) return;
	const promoteMs = d.now - drill.startedAt;
	s.drill = { ...drill, promotedAt: d.now };
	if (s.fails > 0) {
		// Failing back now would stop the only gateway that works: keep the standby, as a real failover.
		endDrill(d, false, "the primary started failing during the drill; staying on the standby");
		d.event(
			"promoted",
			"critical",
			"promoting",
			`drill turned into a real failover: the primary is failing, so the standby keeps serving (term ${s.term})`,
			evidence,
			"Fix the primary; failback follows the usual rules.",
		);
		return;
	}
	startDemotion(
		d,
		"standby-active",
		`drill: the standby was ready ${fmtMs(promoteMs)} after the drill started`,
		evidence,
	);
}

/**
 * A demote given up on must not be repeated under the same op ids: the next demote in this term would
 * start again at attempt 1, and the agent would replay this failure instead of running it. A promotion
 * needs nothing here, since every new one takes a new term anyway.
 */
function freshTermAfterGivingUp(d: Draft, p: PendingCommand): void {
	if (p.action === "demote") d.s.term = Math.min(MAX_TERM, Math.max(d.s.term, p.term + 1));
}

/**
 * How long unanswered polls of a sync are only polled again before they spend attempts, ms: the agent's
 * default git-sync deadline (180 s, agent/src/steps/schema.ts) plus a minute for the round trips. A
 * primary agent that is really gone still ends in `sync-failed`, this much later.
 */
export const SYNC_UNANSWERED_WINDOW_MS = 240_000;

function onSyncOutcome(d: Draft, p: PendingCommand, outcome: CommandOutcome, evidence: Evidence[]) {
	const s = d.s;
	if (outcome.result === "succeeded") {
		s.pending = null;
		d.event(
			"synced",
			"info",
			s.state,
			"the primary pulled the standby's workspace",
			evidence,
			"",
			false,
		);
		return;
	}
	if (outcome.result === "unreachable") {
		// No answer in time is not a failed sync: a long merge on a loaded VPS keeps running on the agent
		// while polls time out. Within the step's own deadline the same op id is only polled again.
		if (d.now - p.issuedAt < SYNC_UNANSWERED_WINDOW_MS) return;
		if (p.attempt < d.config.commandAttempts) {
			s.pending = { ...p, attempt: p.attempt + 1 };
			return; // Same op id, polled next tick.
		}
	}
	if (
		(outcome.result === "failed" || outcome.result === "rejected") &&
		p.attempt < d.config.commandAttempts
	) {
		d.issue("sync", p.term, p.attempt + 1);
		return;
	}
	s.pending = null;
	d.event(
		"sync-failed",
		"warning",
		s.state,
		`the primary could not pull the standby's workspace (${outcome.result}: ${outcome.detail})`,
		evidence,
		"The standby's work is on the git remote (or a failover/<time> branch). Run `git pull` in the primary's workspace.",
	);
}

/** Event kind per step warning code (protocol STEP_WARNING_CODES); an unknown code is held work too. */
const STEP_WARNING_EVENTS: Readonly<Record<string, EventKind>> = {
	"merge-conflicts": "replication-conflict",
	"mass-deletion-held": "replication-held",
};

/**
 * A command that succeeded can still have done something the operator must act on: the promote's or
 * the sync's merge saved one side's version of conflicting paths on a failover branch, or held a mass
 * deletion. One warning event per item, with the agent's own words (paths, branch, the git command).
 */
function stepWarningEvents(
	d: Draft,
	p: PendingCommand,
	outcome: CommandOutcome,
	evidence: Evidence[],
): void {
	const side = p.action === "sync" ? "primary" : "standby";
	for (const w of outcome.warnings ?? []) {
		const kind = STEP_WARNING_EVENTS[w.code] ?? "replication-held";
		d.event(
			kind,
			"warning",
			d.s.state,
			`the ${side}'s ${p.action} succeeded with a warning (${w.code}): ${w.message}`,
			evidence,
			kind === "replication-conflict"
				? 'Nothing is lost: reconcile the paths by hand with the git command above, then commit on the active side. See docs/runbook.md, "Workspace replication".'
				: 'See docs/runbook.md, "Workspace replication".',
		);
	}
}
