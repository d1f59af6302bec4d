// The pure decision core: (state, observation, config, now) -> next state, agent commands and events. No I/O, no clock.

import { MAX_TERM } from "../../protocol/terms";
import type { PairConfig } from "./config";
import { activeState, Draft, HOUR_MS } from "./decide-draft";
import { countProbe, watchMaintenance, watchTerms, watchWitnesses } from "./decide-watch";
import type {
	Command,
	CommandAction,
	CommandOutcome,
	Decision,
	EventKind,
	Evidence,
	Observation,
	OperatorCommand,
	PairEvent,
	PairState,
	PendingCommand,
	Severity,
	StandbyView,
	StateName,
} from "./types";
import {
	describeStandby,
	otherVotes,
	standbyGatewayNotReady,
	tickEvidence,
	verdict,
	workerVerdict,
} from "./witness";

export { initialState, opIdFor } from "./decide-draft";

/**
 * A primary that fails again within this long of a failback is flapping: the failback that follows
 * the next failover is held. An hour, the same window as maxFailoversPerHour, so one rule covers both.
 */
export const FLAP_WINDOW_MS = HOUR_MS;

export function decide(
	state: PairState,
	obs: Observation,
	config: PairConfig,
	now: number,
): Decision {
	const d = new Draft(state, config, now);
	switch (obs.kind) {
		case "tick":
			onTick(d, obs);
			break;
		case "command":
			onCommand(d, obs.outcome);
			break;
		case "operator":
			onOperator(d, obs.command, obs.term);
			break;
		default:
			obs satisfies never;
	}
	return d.done();
}

type Tick = Extract<Observation, { kind: "tick" }>;

function onTick(d: Draft, obs: Tick): void {
	const s = d.s;
	const cfg = d.config;
	const standby = obs.standby;
	const evidenceNow = () =>
		tickEvidence(obs.probe, s.fails, s.oks, standby, obs.tailscale, cfg, obs.primaryAgent);
	countProbe(d, obs, evidenceNow());
	if (standby?.reachable === false) s.standbyMisses += 1;
	else if (standby?.reachable) s.standbyMisses = 0;
	watchTerms(d, obs);
	const evidence = evidenceNow();
	watchWitnesses(d, obs, evidence);
	if (watchMaintenance(d, obs, evidence)) return;

	switch (s.state) {
		case "paused":
		case "held":
			return; // Observations are recorded by the shell; only an operator moves the pair on.
		case "primary-active":
		case "suspect-partition":
			return tickPrimaryActive(d, obs, evidence, s.state);
		case "promoting":
		case "demoting":
			return tickInFlight(d, standby, evidence);
		case "standby-active":
			return tickStandbyActive(d, standby, evidence);
		case "both-down":
			return tickBothDown(d, obs, evidence);
		default:
			s.state satisfies never;
	}
}

function standbyUnreachableNotice(
	d: Draft,
	standby: StandbyView | undefined,
	evidence: Evidence[],
) {
	if (standby?.reachable !== false || d.s.standbyMisses < d.config.failThreshold) return;
	if (!d.once("standby-unreachable")) return;
	d.event(
		"standby-unreachable",
		"warning",
		d.s.state,
		`standby agent unreachable for ${d.s.standbyMisses} checks: a failover could not be carried out now`,
		evidence,
		"Check the standby VPS, its failover-agent service and the tunnel or Funnel that exposes it.",
	);
}

function standbyReachableNotice(d: Draft, standby: StandbyView | undefined, evidence: Evidence[]) {
	if (!standby?.reachable || !d.s.announced.includes("standby-unreachable")) return;
	d.s.announced = d.s.announced.filter((k) => k !== "standby-unreachable");
	d.event("standby-reachable", "info", d.s.state, "standby agent answers again", evidence);
}

/**
 * The standby's gateway answers while the primary is meant to be active and nothing is in flight: two
 * gateways may be serving (started by hand, or this pair's state was reset by a rename). Said once;
 * said again if it comes back after stopping. The watchdog does not act on it: it cannot know which
 * side has the newer work.
 */
function standbyServingNotice(d: Draft, standby: StandbyView | undefined, evidence: Evidence[]) {
	if (!standby?.reachable) return;
	const serving = standby.gatewayActive && d.s.active === "primary" && d.s.pending === null;
	if (!serving) {
		d.s.announced = d.s.announced.filter((k) => k !== "standby-serving");
		return;
	}
	if (!d.once("standby-serving")) return;
	d.event(
		"standby-serving",
		"warning",
		d.s.state,
		"the standby's gateway is running while the primary is the active side: two gateways may be serving",
		evidence,
		"If someone started the standby by hand, stop it there. If this pair's watchdog state was reset (renamed or moved to another group), stop it with failover-agent call <standby-url> demote --key watchdog.key, so its workspace is pushed first.",
	);
}

function tickPrimaryActive(d: Draft, obs: Tick, evidence: Evidence[], from: StateName): void {
	const s = d.s;
	const cfg = d.config;
	// A sync after failback is polled until it finishes; it never gates the state.
	if (s.pending?.action === "sync") d.poll();
	standbyReachableNotice(d, obs.standby, evidence);
	standbyServingNotice(d, obs.standby, evidence);

	const worker = workerVerdict(obs.probe);
	// Judged only on a tick whose own probe says down: a refused answer or a probe held by the restart
	// grace leaves the count where it was but decides nothing.
	const judging = s.fails >= cfg.failThreshold && d.failCounted;
	if (!judging) {
		if (from === "suspect-partition" && obs.probe.ok) {
			d.moveTo("primary-active", "primary ready again");
			d.event(
				"partition-cleared",
				"info",
				from,
				"the Worker sees the primary ready again; no failover was needed",
				evidence,
			);
		} else if (from === "primary-active") {
			s.reason = obs.probe.ok
				? "primary ready"
				: worker.class === "refused"
					? "the primary's readiness URL refuses the Worker (a config problem, not counted)"
					: !d.failCounted
						? "the primary's gateway is starting (restart grace)"
						: "primary probe failing, below the threshold";
		}
		standbyUnreachableNotice(d, obs.standby, evidence);
		return;
	}

	if (obs.standby?.reachable === false) {
		if (s.standbyMisses < cfg.failThreshold) {
			// One missed status poll on the threshold tick is noise, as everywhere else: wait a tick.
			s.reason = `primary failing; the standby agent missed ${s.standbyMisses} poll(s), judging again next tick`;
			return;
		}
		d.moveTo("both-down", "primary failing and the standby agent unreachable");
		d.event(
			"both-down",
			"critical",
			from,
			"the primary is failing and the standby agent cannot be reached: nothing can take over",
			evidence,
			"Check both VPSes. The watchdog keeps probing and promotes as soon as the standby answers and the witnesses agree.",
		);
		return;
	}

	const votes = otherVotes(cfg, obs.standby, obs.tailscale);
	const v = verdict(
		votes,
		cfg.witnesses.quorum,
		worker.class === "down" ? worker.level : "connection",
	);
	switch (v) {
		case "down":
		case "alone": {
			const why =
				v === "alone"
					? `primary failed ${s.fails} probes in a row (the Worker's probe is the only witness configured)`
					: worker.class === "down" && worker.level === "service"
						? `primary failed ${s.fails} probes in a row with an HTTP answer (the Worker's path works, so no partition) and no witness sees it ready`
						: `primary failed ${s.fails} probes in a row and the other witnesses agree`;
			startPromotion(d, from, why, evidence);
			return;
		}
		case "disagree":
		case "unconfirmed": {
			const reason =
				v === "disagree"
					? "the Worker cannot reach the primary but another witness can: suspected partition"
					: "the Worker cannot reach the primary and no other witness could confirm it";
			d.moveTo("suspect-partition", reason);
			if (d.once("suspect-partition")) {
				d.event(
					"suspect-partition",
					"warning",
					from,
					`${reason}; not failing over`,
					evidence,
					v === "disagree"
						? "Usually the path between Cloudflare and the primary (Funnel, tunnel, DNS) is broken while the primary itself is fine. Check it; no action is needed if users can reach the gateway."
						: "Check that the standby agent probes the primary (primaryReadyUrl in its config) and that its status is reachable.",
				);
			}
			return;
		}
		default:
			v satisfies never;
	}
}

/**
 * The next term, or null (after holding the pair with an event) when it would pass MAX_TERM: a term the
 * agents' schema rejects would make every command fail.
 */
function nextTerm(d: Draft, from: StateName, evidence: Evidence[]): number | null {
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

function startPromotion(d: Draft, from: StateName, why: string, evidence: Evidence[]): void {
	const s = d.s;
	const cfg = d.config;
	const term = nextTerm(d, from, evidence);
	if (term === null) return;
	s.term = term;
	s.failovers = [...s.failovers, d.now];
	// Damping holds the failback, never the failover: the pair rests on the side that works.
	const flapped = s.lastFailbackAt != null && d.now - s.lastFailbackAt < FLAP_WINDOW_MS;
	const tooMany = s.failovers.length > cfg.maxFailoversPerHour;
	// A failback sync still in flight is moot once the primary is down again.
	d.commands = d.commands.filter((c) => c.action !== "sync");
	d.moveTo("promoting", why);
	d.issue("promote", s.term, 1);
	d.event(
		"promoting",
		"critical",
		from,
		`failing over to the standby (term ${s.term}): ${why}`,
		evidence,
		"Nothing to do: the standby pulls the workspace and starts its gateway. You will be told when it is serving.",
	);
	if ((flapped || tooMany) && !s.failbackHeld) {
		s.failbackHeld = true;
		d.event(
			"failback-held",
			"warning",
			"promoting",
			flapped
				? `primary flapping, failback held: it failed again ${fmtMs(d.now - (s.lastFailbackAt ?? d.now))} after the last failback`
				: `primary flapping, failback held: ${s.failovers.length} failovers in the last hour (maxFailoversPerHour ${cfg.maxFailoversPerHour})`,
			evidence,
			"The pair stays on the standby once it is serving. Find out why the primary keeps failing, then resume the pair (POST /api/v1/pairs/<pair>/resume) or fail back by hand.",
		);
	}
}

function tickInFlight(d: Draft, standby: StandbyView | undefined, evidence: Evidence[]): void {
	const s = d.s;
	if (standby?.reachable === false && s.standbyMisses >= d.config.failThreshold) {
		const from = s.state;
		const what = s.pending?.action ?? (from === "promoting" ? "promote" : "demote");
		d.moveTo("both-down", `standby agent unreachable during ${what}`);
		d.event(
			"both-down",
			"critical",
			from,
			`the standby agent stopped answering during the ${what}; the command is retried when it is back`,
			evidence,
			"Check the standby VPS and its failover-agent service.",
		);
		return;
	}
	d.poll();
}

function tickStandbyActive(d: Draft, standby: StandbyView | undefined, evidence: Evidence[]): void {
	const s = d.s;
	const cfg = d.config;
	standbyReachableNotice(d, standby, evidence);
	// Same hysteresis as in flight: one missed status poll of the serving standby is not an outage.
	if (
		s.fails >= cfg.failThreshold &&
		standby?.reachable === false &&
		s.standbyMisses >= cfg.failThreshold
	) {
		d.moveTo("both-down", "the primary is still down and the standby agent stopped answering");
		d.event(
			"both-down",
			"critical",
			"standby-active",
			"the standby agent stopped answering while the primary is still down",
			evidence,
			"Check both VPSes.",
		);
		return;
	}
	standbyUnreachableNotice(d, standby, evidence);
	if (watchActiveStandby(d, standby, evidence)) return;
	const activeFor = d.now - s.activeSince;
	const upFor = s.okSince != null && s.oks > 0 ? d.now - s.okSince : 0;
	const recovered =
		s.oks >= cfg.recoverThreshold &&
		upFor >= cfg.recoverSeconds * 1000 &&
		activeFor >= cfg.minActiveSeconds * 1000;
	if (s.failbackHeld) {
		s.reason = "primary flapping, failback held; resume or fail back by hand";
		return;
	}
	if (!recovered) {
		s.reason =
			s.oks > 0
				? `primary ready ${s.oks}/${cfg.recoverThreshold} probes, ${fmtMs(upFor)} of ${cfg.recoverSeconds} s`
				: "standby serving";
		return;
	}
	if (cfg.failback === "manual") {
		s.reason = "primary recovered; failback waits for the operator";
		if (d.once("failback-awaiting")) {
			d.event(
				"failback-awaiting",
				"info",
				"standby-active",
				`the primary has been ready for ${s.oks} probes (${fmtMs(upFor)}); failback is manual`,
				evidence,
				"When ready, POST /api/v1/pairs/<pair>/failback (or press Failback on the status page).",
			);
		}
		return;
	}
	startDemotion(
		d,
		"standby-active",
		`primary ready for ${s.oks} probes in a row (${fmtMs(upFor)} since it returned)`,
		evidence,
	);
}

/**
 * Watches the side that serves: the standby's own gateway not ready for `failThreshold` polls is
 * critical (once). If the primary is ready by then, fail back at once (no minActiveSeconds, no
 * recoverSeconds, no flap hold: the serving side is the broken one). Returns true when it moved.
 */
function watchActiveStandby(
	d: Draft,
	standby: StandbyView | undefined,
	evidence: Evidence[],
): boolean {
	const s = d.s;
	const cfg = d.config;
	if (!standby?.reachable) return false;
	const bad = standbyGatewayNotReady(standby);
	if (bad === null) {
		d.clear("active-not-ready", () =>
			d.event(
				"condition-cleared",
				"info",
				s.state,
				"the standby's gateway is ready again",
				evidence,
			),
		);
		return false;
	}
	const what =
		bad === "inactive"
			? "the standby's gateway is not running"
			: `the standby's gateway is ${bad.state}${bad.failing.length ? ` (failing ${bad.failing.join(", ")})` : ""}`;
	const primaryReady = s.oks >= cfg.failThreshold;
	d.see(
		"active-not-ready",
		`${what} while it is the active side`,
		() =>
			d.event(
				"active-not-ready",
				"critical",
				s.state,
				`${what} for ${cfg.failThreshold} polls while it is the active side${primaryReady ? "; the primary is ready, failing back" : "; the primary is not ready either"}`,
				evidence,
				primaryReady
					? "Nothing to do now: failing back to the primary. Look at the standby's gateway logs."
					: "Check both gateways: nothing is serving. Look at the standby's gateway (journalctl -u openclaw-gateway) first.",
			),
		{ after: cfg.failThreshold },
	);
	if (!d.raised("active-not-ready") || !primaryReady) return false;
	startDemotion(d, "standby-active", `${what} and the primary is ready`, evidence);
	return true;
}

function startDemotion(d: Draft, from: StateName, why: string, evidence: Evidence[]): void {
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

function tickBothDown(d: Draft, obs: Tick, evidence: Evidence[]): void {
	const s = d.s;
	const standby = obs.standby;
	const standbyBack = standby === undefined || standby.reachable;
	if (s.pending && s.pending.action !== "sync") {
		// The command may have reached the agent and still be running: until the agent tells us how it
		// ended, leaving both-down (or issuing another) could leave both gateways serving.
		if (!standbyBack) return;
		// The standby answers again: carry on with the command that was cut off (same op id).
		const to: StateName = s.pending.action === "promote" ? "promoting" : "demoting";
		d.moveTo(to, `standby agent back; resuming the ${s.pending.action}`);
		d.event("standby-reachable", "info", "both-down", d.s.reason, evidence);
		d.poll();
		return;
	}
	if (s.active === "standby") {
		if (standbyBack || obs.probe.ok) {
			d.moveTo("standby-active", standbyBack ? "standby agent back" : "primary ready again");
			d.event("recovered", "info", "both-down", `no longer both down: ${s.reason}`, evidence);
		}
		return;
	}
	if (obs.probe.ok) {
		d.moveTo("primary-active", "primary ready again");
		d.event(
			"recovered",
			"info",
			"both-down",
			"the primary is ready again; no failover was needed",
			evidence,
		);
		return;
	}
	// The standby answers again while the primary still fails: judge afresh (promote or suspect a partition).
	if (standbyBack) tickPrimaryActive(d, obs, evidence, "both-down");
}

function onCommand(d: Draft, outcome: CommandOutcome): void {
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
				d.config.primary.agentUrl
					? ""
					: "No primary agent is configured: run `git pull` in the primary's workspace to get what the standby wrote.",
			);
			if (d.config.primary.agentUrl) d.issue("sync", s.term, 1);
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

/** Records how a drill ended (when one is running) and says so in one notified event. */
function endDrill(d: Draft, ok: boolean, why: string): void {
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

function fmtMs(ms: number): string {
	return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}

/**
 * A demote given up on must not be repeated under the same op ids: the next demote in this term would
 * start again at attempt 1, and the agent would replay this failure instead of running it. A promotion
 * needs nothing here, since every new one takes a new term anyway.
 */
function freshTermAfterGivingUp(d: Draft, p: PendingCommand): void {
	if (p.action === "demote") d.s.term = Math.min(MAX_TERM, Math.max(d.s.term, p.term + 1));
}

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
	if (outcome.result === "unreachable" && p.attempt < d.config.commandAttempts) {
		s.pending = { ...p, attempt: p.attempt + 1 };
		return; // Same op id, polled next tick.
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

function onOperator(d: Draft, command: OperatorCommand, term?: number): void {
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

/** The standby view as one sentence, for the API and status page. */
export { describeStandby };
