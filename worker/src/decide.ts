// The pure decision core: (state, observation, config, now) -> next state, agent commands and events. No I/O, no clock.
import type { PairConfig } from "./config";
import { Draft, HOUR_MS } from "./decide-draft";
import { fmtMs, nextTerm, startDemotion } from "./decide-moves";
import { onOperator } from "./decide-operator";
import { onCommand } from "./decide-outcome";
import {
	countProbe,
	watchMaintenance,
	watchReplication,
	watchTerms,
	watchWitnesses,
} from "./decide-watch";
import { noteLeaseSent, promoteNotBefore } from "./fencing-wait";
import type { Decision, Evidence, Observation, PairState, StandbyView, StateName } from "./types";
import {
	describeStandby,
	otherVotes,
	standbyGatewayNotReady,
	standbyVote,
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
	// First, so a promotion decided on this tick waits for the lease this tick sent too.
	if (obs.primaryLease !== undefined)
		s.primaryLease = noteLeaseSent(s.primaryLease, obs.primaryLease);
	const evidenceNow = () =>
		tickEvidence(obs.probe, s.fails, s.oks, standby, obs.tailscale, cfg, obs.primaryAgent);
	countProbe(d, obs, evidenceNow());
	if (standby?.reachable === false) s.standbyMisses += 1;
	else if (standby?.reachable) s.standbyMisses = 0;
	watchTerms(d, obs);
	const evidence = evidenceNow();
	watchWitnesses(d, obs, evidence);
	watchReplication(d, obs);
	if (watchMaintenance(d, obs, evidence)) return;

	switch (s.state) {
		case "paused":
		case "held":
			return; // Observations are recorded by the shell; only an operator moves the pair on.
		case "primary-active":
		case "suspect-partition":
			return tickPrimaryActive(d, obs, evidence, s.state);
		case "promoting":
			if (s.promoteAfter != null && !s.pending) return tickFenceWait(d, obs, evidence);
			return tickInFlight(d, standby, evidence);
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

	const votes = otherVotes(cfg, obs.standby, obs.tailscale, obs.primaryAgent);
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
			const primaryServes = votes.some((w) => w.witness === "primary-agent" && w.vote === "up");
			const reason = primaryServes
				? `the primary's own agent reports its gateway ready while the Worker's probe fails${standbyVote(obs.standby, cfg) === "down" ? " and the standby sees it down" : ""}: the primary is serving and only the paths to it are broken`
				: v === "disagree"
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
					primaryServes
						? "Broken: the Worker's path to the primary (Funnel, tunnel, DNS)" +
								(standbyVote(obs.standby, cfg) === "down"
									? " and the standby's tailnet path to it (tailscaled on either side, gateway.bind)"
									: "") +
								". The primary keeps serving; repair the paths so a real outage can be judged."
						: v === "disagree"
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
	const notBefore = promoteNotBefore(cfg, d.now, s.primaryLease);
	if (notBefore > d.now) {
		// Fencing: nobody holds the lease while promoting; the primary's runs out first. A failback
		// sync still pending is moot (the primary is down again), as when the promote goes out at once.
		s.promoteAfter = notBefore;
		s.pending = null;
		s.reason = `${why}; the promote waits ${fmtMs(notBefore - d.now)} for the primary's lease to run out, so an isolated primary stops its gateway first`;
	} else {
		d.issue("promote", s.term, 1);
	}
	d.event(
		"promoting",
		"critical",
		from,
		`failing over to the standby (term ${s.term}): ${why}${notBefore > d.now ? ` (the promote goes out in ${fmtMs(notBefore - d.now)}, after the primary's lease has run out: fencing)` : ""}`,
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

/**
 * A decided promotion waiting for the primary's lease to run out (fencing). It goes out when the wait
 * ends; a primary that is ready again before then is not failed over (nothing was sent yet).
 */
function tickFenceWait(d: Draft, obs: Tick, evidence: Evidence[]): void {
	const s = d.s;
	if (obs.probe.ok && s.oks >= d.config.failThreshold) {
		const cancelledAt = s.fenceCancelledAt ?? null;
		if (cancelledAt === null || d.now - cancelledAt >= FLAP_WINDOW_MS) {
			s.promoteAfter = null;
			s.failovers = s.failovers.slice(0, -1);
			s.fenceCancelledAt = d.now;
			d.moveTo("primary-active", "primary ready again during the fencing wait; no failover");
			d.event(
				"recovered",
				"info",
				"promoting",
				"the primary is ready again before the promote went out: no failover (nothing was sent)",
				evidence,
			);
			return;
		}
		// A second recovery inside a fencing wait within the flap window is a crash loop, not a blip: a
		// primary that restarts faster than detection plus the wait would otherwise be "recovered" on
		// every cycle, never failed over, with a critical "promoting" each time. The failover stands
		// (damping holds the failback, never the failover) and goes out at its next failing probe.
		s.reason = `the primary is ready again, but it also recovered during a fencing wait ${fmtMs(d.now - cancelledAt)} ago: a crash loop; the promote goes out at its next failing probe`;
		if (!s.failbackHeld) {
			s.failbackHeld = true;
			d.event(
				"failback-held",
				"warning",
				"promoting",
				`primary flapping, failover kept and failback held: it recovered during a fencing wait ${fmtMs(d.now - cancelledAt)} ago and failed again`,
				evidence,
				"The pair moves to the standby at the primary's next failure and stays there. Find out why the primary keeps restarting, then resume the pair or fail back by hand.",
			);
		}
		return;
	}
	// Checked again from the decision: a config deployed since may grant a longer lease, which the
	// leases naming nobody carry to the primary's agent and stretch its fence (fencing-wait.ts).
	const due = promoteNotBefore(d.config, s.since, s.primaryLease);
	if (due > (s.promoteAfter ?? 0)) s.promoteAfter = due;
	if (d.now < (s.promoteAfter ?? 0)) {
		s.reason = `waiting ${fmtMs((s.promoteAfter ?? d.now) - d.now)} more for the primary's lease to run out (fencing)`;
		return;
	}
	// The wait is over, but the primary answers (or answers oddly) right now: promote only on a failing
	// probe; enough good ones in a row cancel it above.
	if (workerVerdict(obs.probe).class !== "down") {
		s.reason =
			"fencing wait over, but the primary answers again: the promote waits for it to fail again";
		return;
	}
	s.promoteAfter = null;
	s.reason = "fencing wait over: promoting the standby";
	d.issue("promote", s.term, 1);
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

/** The standby view as one sentence, for the API and status page. */
export { describeStandby };
