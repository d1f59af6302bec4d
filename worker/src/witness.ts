// Witness votes and the quorum rule: pure functions from one tick's observations to a verdict on the primary.
import type { PairConfig } from "./config";
import type { Evidence, ProbeResult, StandbyView, TailscaleView, Vote } from "./types";

/** A standby probe older than this says nothing about the primary now. */
export function standbyStaleAfterMs(config: PairConfig): number {
	// Three of our intervals, and never under 15 s: the agent probes on its own clock (default 2 s).
	return Math.max(3 * config.probeIntervalSeconds * 1000, 15_000);
}

export function standbyVote(view: StandbyView | undefined, config: PairConfig): Vote {
	if (!view || !view.reachable || !view.primary) return "unknown";
	if (view.primary.ageMs > standbyStaleAfterMs(config)) return "unknown";
	return view.primary.ok ? "up" : "down";
}

export function tailscaleVote(view: TailscaleView | undefined): Vote {
	if (!view || "error" in view) return "unknown";
	return view.connected ? "up" : "down";
}

export interface WitnessVote {
	witness: "standby" | "tailscale";
	vote: Vote;
}

/**
 * "down": the other witnesses confirm the Worker's failing probe. "disagree": at least one sees the
 * primary up. "unconfirmed": nobody else answered. "alone": no other witness is configured, so the
 * Worker's probe decides by itself.
 */
export type Verdict = "down" | "disagree" | "unconfirmed" | "alone";

/** The votes of the witnesses other than the Worker's own probe that this tick gathered. */
export function otherVotes(
	config: PairConfig,
	standby: StandbyView | undefined,
	tailscale: TailscaleView | undefined,
): WitnessVote[] {
	const votes: WitnessVote[] = [];
	// A witness the shell did not gather (undefined) is not configured for this tick.
	if (config.witnesses.standby && standby !== undefined) {
		votes.push({ witness: "standby", vote: standbyVote(standby, config) });
	}
	if (config.witnesses.tailscale && tailscale !== undefined) {
		votes.push({ witness: "tailscale", vote: tailscaleVote(tailscale) });
	}
	return votes;
}

/** k-of-n agreement among the other witnesses; only called once the Worker's probe has failed enough. */
export function verdict(votes: readonly WitnessVote[], quorum: "all" | number): Verdict {
	if (votes.length === 0) return "alone";
	const down = votes.filter((v) => v.vote === "down").length;
	const up = votes.filter((v) => v.vote === "up").length;
	if (quorum === "all") {
		if (up > 0) return "disagree";
		return down > 0 ? "down" : "unconfirmed";
	}
	if (down >= quorum) return "down";
	return up > 0 ? "disagree" : "unconfirmed";
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
	return p.ok
		? `standby sees the primary up (${p.consecutiveSuccesses} good in a row, ${age})`
		: `standby sees the primary down: ${p.reason ?? "failed"} (${p.consecutiveFailures} failed in a row, ${age})`;
}

export function describeTailscale(view: TailscaleView | undefined): string {
	if (!view) return "not polled";
	if ("error" in view) return `Tailscale API unavailable: ${view.error}`;
	return view.connected
		? "primary device connected to the Tailscale control plane"
		: "primary device NOT connected to the Tailscale control plane";
}

/** Who saw what this tick, for events and notifications. */
export function tickEvidence(
	probe: ProbeResult,
	fails: number,
	oks: number,
	standby: StandbyView | undefined,
	tailscale: TailscaleView | undefined,
	config: PairConfig,
): Evidence[] {
	const out: Evidence[] = [{ witness: "worker", saw: describeProbe(probe, fails, oks) }];
	if (standby !== undefined)
		out.push({ witness: "standby", saw: describeStandby(standby, config) });
	if (tailscale !== undefined)
		out.push({ witness: "tailscale", saw: describeTailscale(tailscale) });
	return out;
}
