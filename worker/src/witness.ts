// The evidence model: what each witness's observation proves about the primary, and the quorum rule over those votes. Pure.
import { classifyFailure, type EvidenceLevel, type ProbeVerdict } from "../../protocol/probe-spec";
import type { PairConfig } from "./config";
import type {
	Evidence,
	GatewayReport,
	PeerProbe,
	PrimaryAgentView,
	ProbeResult,
	StandbyView,
	TailscaleView,
	Vote,
} from "./types";

/*
 * The table a reader can hold against the fault list (docs/architecture.md, "Vote classes"):
 *
 * witness          | sees            | up                       | down                            | cannot say (unknown)
 * -----------------|-----------------|--------------------------|---------------------------------|--------------------------
 * Worker probe     | the gateway     | expected status and body | 5xx, body mismatch (service);   | 3xx, 4xx: refused or
 *                  | over the public |                          | timeout, refused, reset         | misdirected (config
 *                  | path            |                          | (connection)                    | problem, never down)
 * standby agent    | the gateway     | same spec                | same classes                    | unreachable, no probe,
 *                  | over the tailnet|                          |                                 | stale, 3xx/4xx
 * Tailscale        | the host        | device connected         | device disconnected             | API error
 * primary agent    | the gateway     | its own /readyz ready:   | its own /readyz not ready or    | "starting" (the restart
 *                  | from inside     | a VETO (the primary      | stopped (gateway level); silent | grace decides)
 *                  | (pushed or      | serves; only paths to it | (connection level: confirms,    |
 *                  | polled)         | are broken)              | never vetoes)                   |
 *
 * Levels: a service-level down from the Worker proves its path works, so no partition on that path is
 * possible; only a gateway-level "up" (the standby seeing it ready) can contradict it. Tailscale sees
 * the host, not the gateway: its "down" confirms a failure; its "up" counts only when no gateway-level
 * witness has a vote, and never outvotes a gateway-level down.
 */

/** A standby probe older than this says nothing about the primary now. */
export function standbyStaleAfterMs(config: PairConfig): number {
	// Three of our intervals, and never under 15 s: the agent probes on its own clock (default 2 s).
	return Math.max(3 * config.probeIntervalSeconds * 1000, 15_000);
}

/** The class and level of the Worker's own probe (protocol/probe-spec.ts). */
export function workerVerdict(probe: ProbeResult): ProbeVerdict {
	if (probe.ok) return { class: "up" };
	return classifyFailure(probe.reason, probe.status);
}

/** The standby's peer probe, classed by the same spec. null when it cannot vote (see standbyVote). */
export function peerVerdict(peer: PeerProbe): ProbeVerdict {
	if (peer.ok) return { class: "up" };
	const reason = peer.reason;
	if (
		reason === "timeout" ||
		reason === "connect-error" ||
		reason === "http-status" ||
		reason === "body-mismatch"
	)
		return classifyFailure(reason, peer.status);
	// An older agent without a reason: it failed, and that is all it says.
	return { class: "down", level: "connection" };
}

export function standbyVote(view: StandbyView | undefined, config: PairConfig): Vote {
	if (!view || !view.reachable || !view.primary) return "unknown";
	if (view.primary.ageMs > standbyStaleAfterMs(config)) return "unknown";
	const v = peerVerdict(view.primary);
	return v.class === "refused" ? "unknown" : v.class;
}

export function tailscaleVote(view: TailscaleView | undefined): Vote {
	if (!view || "error" in view) return "unknown";
	return view.connected ? "up" : "down";
}

/** What a witness can see: the gateway itself, or only the host it runs on. */
export type WitnessLevel = "gateway" | "host";

/**
 * The primary's own agent, reporting its gateway's local readiness (issue 13). Ready: "up" at gateway
 * level, and a veto (see verdict): the primary is serving and only the paths to it are broken.
 * Not ready or stopped: "down" at gateway level, with its failing checks as the evidence. Silent (not
 * reachable, or no report): "down" at host level, a confirmation like Tailscale's that never vetoes.
 * Starting: "unknown" (the restart grace decides).
 */
export function primaryAgentVote(view: PrimaryAgentView): { vote: Vote; level: WitnessLevel } {
	if (!view.reachable) return { vote: "down", level: "host" };
	const g = view.gateway;
	if (g === null) return { vote: "unknown", level: "gateway" };
	switch (g.state) {
		case "ready":
			return { vote: "up", level: "gateway" };
		case "starting":
			return { vote: "unknown", level: "gateway" };
		case "not-ready":
		case "stopped":
			return { vote: "down", level: "gateway" };
		default:
			return g.state satisfies never;
	}
}

export interface WitnessVote {
	witness: "standby" | "tailscale" | "primary-agent";
	vote: Vote;
	level: WitnessLevel;
}

/**
 * "down": the evidence confirms the Worker's failing probe. "disagree": a witness that can see it
 * says the primary is up. "unconfirmed": nobody else could say. "alone": no other witness is
 * configured, so the Worker's probe decides by itself.
 */
export type Verdict = "down" | "disagree" | "unconfirmed" | "alone";

/** The votes of the witnesses other than the Worker's own probe that this tick gathered. */
export function otherVotes(
	config: PairConfig,
	standby: StandbyView | undefined,
	tailscale: TailscaleView | undefined,
	primaryAgent?: PrimaryAgentView,
): WitnessVote[] {
	const votes: WitnessVote[] = [];
	// A witness the shell did not gather (undefined) is not configured for this tick.
	if (config.witnesses.standby && standby !== undefined) {
		votes.push({ witness: "standby", vote: standbyVote(standby, config), level: "gateway" });
	}
	if (config.witnesses.tailscale && tailscale !== undefined) {
		votes.push({ witness: "tailscale", vote: tailscaleVote(tailscale), level: "host" });
	}
	// Read whenever a primary agent is configured (either transport): it is a witness by being there.
	if (primaryAgent !== undefined) {
		votes.push({ witness: "primary-agent", ...primaryAgentVote(primaryAgent) });
	}
	return votes;
}

/**
 * The quorum rule, called once the Worker's probe has failed `failThreshold` times. `workerLevel` is
 * how far the Worker's own failure reaches (see the table above). Quorum counts down votes among the
 * witnesses that can vote this tick: "all" needs at least one and no counted up; a number needs that
 * many.
 */
export function verdict(
	votes: readonly WitnessVote[],
	quorum: "all" | number,
	workerLevel: EvidenceLevel = "connection",
): Verdict {
	if (votes.length === 0) return "alone";
	// The primary's own agent sees its gateway ready: it is serving, whatever the paths to it say. No
	// quorum outvotes that (promoting would put two gateways on the same chats).
	if (votes.some((v) => v.witness === "primary-agent" && v.vote === "up")) return "disagree";
	const gatewayKnown = votes.filter((v) => v.level === "gateway" && v.vote !== "unknown");
	// A host-level "up" is consistent with a dead gateway on a live host: it counts only when no
	// gateway-level witness has a vote, and never against a service-level failure.
	// A host-level "down" confirms a failure, but not against a witness that sees the gateway up (it
	// would let k-of-n promote a primary the standby sees serving).
	const gatewayUp = gatewayKnown.some((v) => v.vote === "up");
	const counted = votes.filter(
		(v) =>
			v.vote !== "unknown" &&
			(v.level === "gateway" ||
				(v.vote === "down" && !gatewayUp) ||
				(gatewayKnown.length === 0 && workerLevel === "connection")),
	);
	const down = counted.filter((v) => v.vote === "down").length;
	const up = counted.filter((v) => v.vote === "up").length;
	if (workerLevel === "service") {
		// The Worker got an HTTP answer: its path works, so a partition is ruled out. Only a witness
		// that sees the gateway ready contradicts it.
		return up > 0 ? "disagree" : "down";
	}
	if (quorum === "all") {
		if (up > 0) return "disagree";
		return down > 0 ? "down" : "unconfirmed";
	}
	if (down >= quorum) return "down";
	return up > 0 ? "disagree" : "unconfirmed";
}

/**
 * Whether the witnesses that cannot vote now make the quorum impossible: with them silent the Worker's
 * connection-level failures could never be confirmed, so the pair could not fail over on a dead host.
 */
export function quorumImpossible(config: PairConfig, silent: ReadonlySet<string>): boolean {
	const configured: string[] = [];
	if (config.witnesses.standby) configured.push("standby");
	if (config.witnesses.tailscale) configured.push("tailscale");
	if (configured.length === 0) return false;
	const able = configured.filter((w) => !silent.has(w)).length;
	return config.witnesses.quorum === "all" ? able === 0 : able < config.witnesses.quorum;
}

/** The standby's own gateway is not ready, from its report or (older agents) from gatewayActive. */
export function standbyGatewayNotReady(
	view: StandbyView | undefined,
): GatewayReport | "inactive" | null {
	if (!view?.reachable) return null;
	if (view.gateway) return view.gateway.state === "ready" ? null : view.gateway;
	if (view.gateway === undefined && !view.gatewayActive) return "inactive";
	return null;
}

/** The primary agent says its gateway is starting (a restart, not an outage). */
export function primaryStarting(view: PrimaryAgentView | undefined): GatewayReport | null {
	if (!view?.reachable || !view.gateway) return null;
	return view.gateway.state === "starting" ? view.gateway : null;
}

export function describeProbe(probe: ProbeResult, fails: number, oks: number): string {
	if (probe.ok) return `probe ok: HTTP ${probe.status} in ${probe.ms} ms (${oks} good in a row)`;
	const what =
		probe.reason === "timeout"
			? `timeout after ${probe.ms} ms`
			: probe.reason === "connect-error"
				? `connect error${probe.detail ? ` (${probe.detail})` : ""}`
				: probe.reason === "http-status"
					? `HTTP ${probe.status ?? "?"}`
					: `body did not match${probe.status ? ` (HTTP ${probe.status})` : ""}`;
	const v = workerVerdict(probe);
	if (v.class === "refused")
		return `probe refused or misdirected: ${what} (a config problem, not a down vote)`;
	return `probe failed: ${what} (${fails} failed in a row)`;
}

export function describeStandby(view: StandbyView | undefined, config: PairConfig): string {
	if (!view) return "not polled";
	if (!view.reachable) return `standby agent unreachable: ${view.reason}`;
	const p = view.primary;
	if (!p)
		return "standby agent answered but does not probe the primary (no primary URL configured)";
	const age = `${Math.round(p.ageMs / 100) / 10} s ago`;
	if (p.ageMs > standbyStaleAfterMs(config))
		return `standby's probe of the primary is stale (${age})`;
	if (!p.ok && peerVerdict(p).class === "refused")
		return `standby's probe of the primary is refused or misdirected: HTTP ${p.status} (${age})`;
	return p.ok
		? `standby sees the primary up (${p.consecutiveSuccesses} good in a row, ${age})`
		: `standby sees the primary down: ${p.reason ?? "failed"}${p.status ? ` HTTP ${p.status}` : ""} (${p.consecutiveFailures} failed in a row, ${age})`;
}

export function describeTailscale(view: TailscaleView | undefined): string {
	if (!view) return "not polled";
	if ("error" in view) return `Tailscale API unavailable: ${view.error}`;
	return view.connected
		? "primary device connected to the Tailscale control plane"
		: "primary device NOT connected to the Tailscale control plane";
}

function describeGateway(who: string, g: GatewayReport): string {
	const failing = g.failing.length > 0 ? `, failing ${g.failing.join(", ")}` : "";
	const up = g.uptimeMs !== undefined ? `, up ${Math.round(g.uptimeMs / 1000)} s` : "";
	return `${who}'s gateway ${g.state}${failing}${up}: ${g.detail}`;
}

export function describePrimaryAgent(view: PrimaryAgentView | undefined): string {
	if (!view) return "not polled";
	if (!view.reachable) return `primary agent unreachable: ${view.reason}`;
	if (!view.gateway) return "primary agent answered but could not read its gateway";
	return describeGateway("primary", view.gateway);
}

/** Who saw what this tick, for events and notifications. */
export function tickEvidence(
	probe: ProbeResult,
	fails: number,
	oks: number,
	standby: StandbyView | undefined,
	tailscale: TailscaleView | undefined,
	config: PairConfig,
	primaryAgent?: PrimaryAgentView,
): Evidence[] {
	const out: Evidence[] = [{ witness: "worker", saw: describeProbe(probe, fails, oks) }];
	if (standby !== undefined) {
		out.push({ witness: "standby", saw: describeStandby(standby, config) });
		if (standby.reachable && standby.gateway)
			out.push({ witness: "agent", saw: describeGateway("standby", standby.gateway) });
	}
	if (tailscale !== undefined)
		out.push({ witness: "tailscale", saw: describeTailscale(tailscale) });
	if (primaryAgent !== undefined)
		out.push({ witness: "agent", saw: describePrimaryAgent(primaryAgent) });
	return out;
}
