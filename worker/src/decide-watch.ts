// The judge's standing watches, run on every tick before the state machine: config problems, silent or broken witnesses, term anomalies, maintenance and the restart grace. Pure.
import { MAX_TERM_ADOPT_JUMP } from "../../protocol/terms";
import { activeState, type Draft } from "./decide-draft";
import { replicationRead, replicationStep } from "./replication-events";
import type { Evidence, Observation, ReplicationMemo, Side, StateName } from "./types";
import {
	describeStandby,
	describeTailscale,
	peerVerdict,
	primaryStarting,
	quorumImpossible,
	standbyVote,
	tailscaleVote,
	workerVerdict,
} from "./witness";

type Tick = Extract<Observation, { kind: "tick" }>;

/**
 * A configured witness that has not voted for this long while the primary is healthy is reported.
 * Three minutes: longer than an agent restart or a brief Tailscale API blip, far shorter than the time
 * to the next real outage, so the operator hears of it before it matters.
 */
export const SILENT_AFTER_MS = 180_000;

/**
 * Folds the Worker's probe into the counts. A refused-or-misdirected answer is no vote (counts
 * unchanged, one config-problem warning). A failure while the primary's agent says its gateway is
 * starting does not count until `startGraceSeconds` have passed since the first such failure.
 */
export function countProbe(d: Draft, obs: Tick, evidence: Evidence[]): void {
	const s = d.s;
	const cfg = d.config;
	const v = workerVerdict(obs.probe);
	if (v.class === "up") {
		if (s.oks === 0) s.okSince = d.now;
		s.oks += 1;
		s.fails = 0;
		s.graceSince = null;
		d.clear("probe-refused", () =>
			cleared(d, "the Worker's probe answers as a readiness URL again", evidence),
		);
		return;
	}
	s.oks = 0;
	s.okSince = null;
	if (v.class === "refused") {
		const text = `the readiness URL ${cfg.primary.readyUrl} answers HTTP ${v.status} to the Worker: refused or misdirected, so the Worker's probe cannot vote`;
		d.see("probe-refused", text, () =>
			d.event(
				"config-problem",
				"warning",
				s.state,
				`${text}; not counted as down`,
				evidence,
				"Check primary.readyUrl (it must be the gateway's /readyz, reachable without a login or redirect) and any access rule in front of it.",
			),
		);
		return;
	}
	d.clear("probe-refused", () =>
		cleared(d, "the Worker's probe answers as a readiness URL again", evidence),
	);
	const starting = s.active === "primary" ? primaryStarting(obs.primaryAgent) : null;
	if (starting && cfg.startGraceSeconds > 0) {
		const since = s.graceSince ?? d.now;
		if (d.now - since < cfg.startGraceSeconds * 1000) {
			if (s.graceSince == null) {
				d.event(
					"restart-grace",
					"info",
					s.state,
					`the primary's agent reports its gateway starting; failing probes are not counted for up to ${cfg.startGraceSeconds} s`,
					evidence,
					"",
					false,
				);
			}
			s.graceSince = since;
			return;
		}
	} else {
		s.graceSince = null;
	}
	s.fails += 1;
	d.failCounted = true;
}

function cleared(d: Draft, summary: string, evidence: Evidence[]): void {
	d.event("condition-cleared", "info", d.s.state, summary, evidence);
}

/** Records the agents' terms and adopts a plausible higher one; an implausible jump is a term anomaly. */
export function watchTerms(d: Draft, obs: Tick): void {
	const s = d.s;
	const standby = obs.standby;
	const terms = { ...s.agentTerms };
	if (standby?.reachable) terms.standby = standby.term;
	if (obs.primaryAgent?.reachable) terms.primary = obs.primaryAgent.term;
	if (terms.standby !== s.agentTerms?.standby || terms.primary !== s.agentTerms?.primary)
		s.agentTerms = terms;
	if (!standby?.reachable) return;
	const ev: Evidence[] = [{ witness: "standby", saw: `agent reports term ${standby.term}` }];
	if (standby.term <= s.term + MAX_TERM_ADOPT_JUMP)
		d.clear("term-anomaly", () =>
			cleared(d, `the standby's term (${standby.term}) is plausible again`, ev),
		);
	if (standby.term <= s.term || s.pending) return;
	if (standby.term - s.term > MAX_TERM_ADOPT_JUMP) {
		const text = `the standby agent reports term ${standby.term}, ${standby.term - s.term} above the pair's ${s.term}: not adopted`;
		d.see("term-anomaly", text, () =>
			d.event(
				"term-anomaly",
				"warning",
				s.state,
				`${text} (a jump over ${MAX_TERM_ADOPT_JUMP} is not something the watchdog does; a forged or replayed status, or a reset agent state, can)`,
				ev,
				"Check the standby agent's state (failover-agent call <url> status). If its term is right, POST /api/v1/pairs/<pair>/reset-term to adopt the agents' highest term; see docs/runbook.md, \"Term anomaly\".",
			),
		);
		return;
	}
	const from = s.term;
	s.term = standby.term;
	d.event(
		"term-adopted",
		"info",
		s.state,
		`adopted term ${standby.term} from the standby agent (was ${from})`,
		ev,
		"",
		false,
	);
}

/** The latest maintenance window either agent reports, or the one already recorded (ms since epoch). */
function maintenanceEnd(d: Draft, obs: Tick): number | null {
	let until = d.s.maintenanceUntil ?? null;
	const reported = [
		obs.primaryAgent?.reachable ? obs.primaryAgent.maintenanceUntil : null,
		obs.standby?.reachable ? (obs.standby.maintenanceUntil ?? null) : null,
	];
	for (const r of reported)
		if (typeof r === "number" && r > d.now && (until === null || r > until)) until = r;
	return until;
}

/**
 * Pauses the pair while an agent reports a maintenance window, and resumes it by itself when the
 * window ends. Returns true when the pair is paused for maintenance after this tick. A pair paused or
 * held by the operator is left to the operator.
 */
export function watchMaintenance(d: Draft, obs: Tick, evidence: Evidence[]): boolean {
	const s = d.s;
	const until = maintenanceEnd(d, obs);
	const byMaintenance = s.state === "paused" && s.maintenanceUntil != null;
	if (until !== null && until > d.now) {
		if (byMaintenance) {
			if (until !== s.maintenanceUntil) s.maintenanceUntil = until;
			s.reason = `maintenance until ${new Date(until).toISOString()}`;
			return true;
		}
		if (s.state === "paused" || s.state === "held") return false;
		const from = s.state;
		s.resumeTo = from;
		s.maintenanceUntil = until;
		d.moveTo("paused", `maintenance until ${new Date(until).toISOString()}`);
		d.event(
			"maintenance",
			"info",
			from,
			`an agent reports a maintenance window until ${new Date(until).toISOString()}: no failover or failback until then`,
			evidence,
			"Nothing to do: the pair resumes by itself when the window ends.",
		);
		return true;
	}
	if (!byMaintenance) {
		if (s.maintenanceUntil != null) s.maintenanceUntil = null;
		return false;
	}
	const to: StateName = s.resumeTo ?? activeState(d);
	s.resumeTo = null;
	s.maintenanceUntil = null;
	d.moveTo(to, "maintenance window over");
	d.event("resumed", "info", "paused", `the maintenance window is over; back to ${to}`, evidence);
	// The state machine runs on this same tick and polls a pending command from the resumed state.
	return false;
}

/**
 * Witnesses that cannot vote while the primary is healthy (so the silence is theirs, not the
 * primary's), and the standby's refused probe and reverse disagreement. Said once each, cleared once.
 */
export function watchWitnesses(d: Draft, obs: Tick, evidence: Evidence[]): void {
	const s = d.s;
	const cfg = d.config;
	const standby = obs.standby;
	const workerUp = workerVerdict(obs.probe).class === "up";
	const silent = new Set<string>();
	for (const k of ["standby", "tailscale"] as const) if (d.raised(`${k}-silent`)) silent.add(k);

	if (cfg.witnesses.standby && standby?.reachable) {
		const vote = standbyVote(standby, cfg);
		const p = standby.primary;
		const refused = p && !p.ok && peerVerdict(p);
		if (refused && refused.class === "refused") {
			const text = `the standby's probe of the primary gets HTTP ${refused.status} (refused or misdirected): its primaryReadyUrl or an access rule is wrong, so it cannot vote`;
			d.see("standby-probe-refused", text, () =>
				d.event(
					"config-problem",
					"warning",
					s.state,
					text,
					evidence,
					"Check primaryReadyUrl in the standby agent's config (failover-agent check-config) and any access rule in front of the primary's /readyz.",
				),
			);
		} else {
			d.clear("standby-probe-refused", () =>
				cleared(d, "the standby's probe of the primary answers as a readiness URL again", evidence),
			);
		}
		if (vote !== "unknown") {
			d.clear("standby-silent", () => {
				silent.delete("standby");
				d.event("witness-voting", "info", s.state, "the standby witness votes again", evidence);
			});
		} else if (workerUp) {
			silent.add("standby");
			const text = silentText(d, "standby", describeStandby(standby, cfg), silent);
			d.see("standby-silent", text, () => witnessSilent(d, text, evidence), {
				afterMs: SILENT_AFTER_MS,
			});
		}
		// Reverse disagreement: the standby sees the primary down while the Worker sees it ready.
		if (workerUp && vote === "down") {
			const text =
				"the standby sees the primary down while the Worker sees it ready: the standby's witness is broken (often the primary's gateway listens on loopback only, out of the standby's reach), so partition protection is off";
			d.see(
				"standby-witness-broken",
				text,
				() =>
					d.event(
						"witness-broken",
						"warning",
						s.state,
						text,
						evidence,
						"Make the primary's /readyz reachable from the standby over the tailnet (bind the gateway to the tailnet address or serve /readyz there), then check with failover-agent call <standby-url> status.",
					),
				{ after: cfg.failThreshold },
			);
		} else if (vote === "up") {
			d.clear("standby-witness-broken", () =>
				cleared(d, "the standby sees the primary ready again: its witness works", evidence),
			);
		}
	}

	if (cfg.witnesses.tailscale && obs.tailscale !== undefined) {
		if (tailscaleVote(obs.tailscale) !== "unknown") {
			d.clear("tailscale-silent", () =>
				d.event("witness-voting", "info", s.state, "the Tailscale witness votes again", evidence),
			);
		} else if (workerUp) {
			silent.add("tailscale");
			const text = silentText(d, "tailscale", describeTailscale(obs.tailscale), silent);
			d.see("tailscale-silent", text, () => witnessSilent(d, text, evidence), {
				afterMs: SILENT_AFTER_MS,
			});
		}
	}
}

function silentText(d: Draft, who: string, saw: string, silent: ReadonlySet<string>): string {
	const base = `the ${who} witness has not been able to vote (${saw})`;
	return quorumImpossible(d.config, silent)
		? `${base}; with it silent the quorum cannot be met: a primary that stops answering (timeout, refused) would never be failed over`
		: base;
}

function witnessSilent(d: Draft, text: string, evidence: Evidence[]): void {
	d.event(
		"witness-silent",
		"warning",
		d.s.state,
		text,
		evidence,
		"Fix the witness before the next outage: the standby needs primaryReadyUrl and a reachable primary /readyz; Tailscale needs a valid API key or OAuth client.",
	);
}

/**
 * Each side's workspace replication, from the agents' statuses: the facts are kept in the state (the
 * status API and page read them there) and a problem is told once per reason (replication-events.ts).
 * Runs in every state, paused and held included: replication goes on whatever the judge decides.
 */
export function watchReplication(d: Draft, obs: Tick): void {
	const s = d.s;
	const views = { primary: obs.primaryAgent, standby: obs.standby };
	let next: Partial<Record<Side, ReplicationMemo>> | undefined = s.replication;
	for (const side of ["primary", "standby"] as const) {
		const prev = s.replication?.[side];
		const step = replicationStep(side, prev, replicationRead(views[side]), d.now);
		for (const e of step.events)
			d.event(e.kind, e.severity, s.state, e.summary, e.evidence, e.next);
		if (step.memo === prev) continue;
		const { [side]: _old, ...others } = next ?? {};
		next = step.memo === undefined ? others : { ...others, [side]: step.memo };
	}
	if (next !== s.replication) {
		if (next === undefined || Object.keys(next).length === 0) delete s.replication;
		else s.replication = next;
	}
}
