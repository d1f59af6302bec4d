// What the status API shows of a pair: shapes returned by the Watchdog's RPC methods, built from the store.
import { type ConfigError, hasAgent, type PairConfig } from "./config";
import type { LoadedConfig } from "./config-cache";
import type { NotificationStatus } from "./notification-hub";
import { replicationProblems } from "./replication-events";
import {
	type ReplicationDetail,
	type ReplicationSummary,
	replicationDetail,
	replicationSummary,
} from "./replication-view";
import type { ObservationRow, Store } from "./store";
import type {
	ConnectionStats,
	GatewayReport,
	PairState,
	PrimaryAgentView,
	Side,
	StandbyView,
	StateName,
} from "./types";
import { describeStandby } from "./witness";

export interface PairSummary {
	name: string;
	group: string;
	/** False when the pair's config has errors: it is not ticked until they are fixed. */
	watched: boolean;
	configErrors: ConfigError[];
	/** null until the pair's first tick. */
	state: StateName | null;
	active: Side | null;
	term: number | null;
	reason: string | null;
	since: number | null;
	lastTickAt: number | null;
	nextTickAt: number | null;
	lastObservation: ObservationRow | null;
	/**
	 * What the judge has raised and not yet cleared (a refused readiness URL, a silent or broken
	 * witness, the active side not ready, a term anomaly), one sentence each; from PairState.conditions.
	 */
	problems?: string[];
	/** Whether the restart grace applies, in one sentence ("off: no primary agent configured" ...). */
	restartGrace?: string;
	/**
	 * Each side's workspace replication as last read (public-safe: modes, times, counts, problem kinds;
	 * replication-view.ts). Absent until an agent reports it.
	 */
	replication?: Partial<Record<Side, ReplicationSummary>>;
}

export interface WitnessViews {
	worker: { probe: ObservationRow | null };
	standby: {
		configured: boolean;
		/** Last view this object saw since it started; null when not polled (no agent client yet). */
		view: StandbyView | null;
		summary: string;
	};
	tailscale: { configured: boolean; summary: string };
	/** The primary's own agent (its gateway's local readiness, its maintenance window). */
	primaryAgent?: {
		/** False without `primary.agentUrl`: the restart grace is then off. */
		configured: boolean;
		/** Last view this object saw since it started; null when not polled. */
		view: PrimaryAgentView | null;
		summary: string;
	};
}

/** The line the page shows for a pair without a primary agent. */
export const NO_PRIMARY_AGENT = "restart grace off (no primary agent)";

/** One line for people on an agent's report of its own gateway. */
export function describeGateway(g: GatewayReport): string {
	const up = g.uptimeMs !== undefined ? `, up ${Math.round(g.uptimeMs / 1000)} s` : "";
	return `its gateway ${g.state}${up}: ${g.detail} (checked ${Math.round(g.ageMs / 1000)} s before the poll)`;
}

/** The primary agent's witness line: what its gateway is doing, and any maintenance window. */
export function describePrimaryAgent(
	configured: boolean,
	view: PrimaryAgentView | undefined,
	now: number,
): string {
	if (!configured) return NO_PRIMARY_AGENT;
	if (view === undefined) return "not polled yet";
	if (!view.reachable) return `primary agent unreachable: ${view.reason}`;
	const gateway =
		view.gateway === null
			? "the agent does not report its gateway (an agent older than the field, or no check yet)"
			: describeGateway(view.gateway);
	const window =
		view.maintenanceUntil !== null && view.maintenanceUntil > now
			? `; maintenance until ${new Date(view.maintenanceUntil).toISOString()}`
			: "";
	return `${gateway}${window}`;
}

/**
 * One line for people on a dial-out side's connection, as the Worker and the agent each see it: silence,
 * drops, refusals by kind, clock skew, and the agent's own redials and refusals. `now` in ms.
 */
export function describeConnection(c: ConnectionStats, now: number): string {
	const s = (ms: number) => `${Math.round(ms / 1000)} s`;
	const parts: string[] = [
		c.connected && c.since !== null
			? `connected for ${s(now - c.since)}`
			: `not connected${c.lastClose ? ` (last close ${c.lastClose})` : ""}`,
	];
	if (c.silentMs !== null) parts.push(`last frame ${s(c.silentMs)} ago`);
	if (c.statusAgeMs !== null) parts.push(`last status ${s(c.statusAgeMs)} ago`);
	parts.push(`${c.frames} frames`);
	if (c.dropped > 0) parts.push(`${c.dropped} dropped by the rate limit`);
	const kinds = Object.entries(c.refusals).map(([k, n]) => `${k} ${n}`);
	if (c.refused > 0) parts.push(`${c.refused} refused (${kinds.join(", ")})`);
	if (c.skewMs !== null && Math.abs(c.skewMs) >= 1_000) {
		parts.push(`agent clock ${c.skewMs > 0 ? "ahead" : "behind"} by ${s(Math.abs(c.skewMs))}`);
	}
	const a = c.agent;
	if (a) {
		const agent = [`${a.connects} connect${a.connects === 1 ? "" : "s"}`];
		if (a.lastClose) agent.push(`last close ${a.lastClose}`);
		if (a.dropped > 0) agent.push(`${a.dropped} bad frames dropped`);
		if (a.refused > 0)
			agent.push(
				`${a.refused} requests refused${a.clockSkew > 0 ? ` (clock skew ${a.clockSkew})` : ""}`,
			);
		parts.push(`the agent reports ${agent.join(", ")}`);
	}
	return parts.join(" · ");
}

export interface PairDetail extends PairSummary {
	pairState: PairState | null;
	counts: { fails: number; oks: number; standbyMisses: number } | null;
	observations: ObservationRow[];
	witnesses: WitnessViews;
	/** When this group's Durable Object wakes next (all pairs of a group share one alarm). */
	nextAlarmAt: number | null;
	notifications: NotificationStatus;
	/** Fingerprint of the config the loop last ran with, to spot a deploy that has not reached it. */
	configHash: string | null;
	/** Dial-out sides only: each agent's connection (connected since, frames, refusals, last close). */
	connections?: Partial<Record<Side, ConnectionStats>>;
	/** Each side's replication with the agent's own words (problem message and hint, held branch, refused paths). */
	replicationDetail?: Partial<Record<Side, ReplicationDetail>>;
}

export function summarize(
	store: Store,
	config: LoadedConfig,
	group: string,
	name: string,
): PairSummary {
	const pair = config.pairs.get(name);
	const s = store.state(name);
	const last = store.lastTickAt(name);
	return {
		name,
		group,
		watched: pair !== undefined,
		configErrors: [...(config.pairErrors.get(name) ?? [])],
		state: s?.state ?? null,
		active: s?.active ?? null,
		term: s?.term ?? null,
		reason: s?.reason ?? null,
		since: s?.since ?? null,
		lastTickAt: last ?? null,
		nextTickAt: pair && last !== undefined ? last + pair.probeIntervalSeconds * 1000 : null,
		lastObservation: store.observations(name, 1)[0] ?? null,
		problems: pairProblems(s ?? undefined),
		restartGrace: restartGrace(pair),
		...replicationField(s),
	};
}

/** The raised conditions of a pair's state and its standing replication problems, one sentence each. */
export function pairProblems(s: PairState | undefined): string[] {
	const out: string[] = [];
	for (const c of Object.values(s?.conditions ?? {})) if (c?.raised) out.push(c.text);
	out.push(...replicationProblems(s?.replication));
	return out;
}

function replicationField(s: PairState | undefined): Pick<PairSummary, "replication"> {
	const r = replicationSummary(s);
	return r ? { replication: r } : {};
}

/** Whether the restart grace can apply: it needs the primary's agent to say its gateway is starting. */
export function restartGrace(pair: PairConfig | undefined): string {
	if (!pair) return "unknown (the pair's config has errors)";
	if (!hasAgent(pair, "primary"))
		return "off: no primary agent configured (primary.agentUrl or primary.agentPublicKey), so a restart counts like an outage";
	if (pair.startGraceSeconds === 0) return "off: startGraceSeconds is 0";
	return `on: up to ${pair.startGraceSeconds} s while the primary's agent reports its gateway starting`;
}

export function detail(
	summary: PairSummary,
	store: Store,
	pair: PairConfig | undefined,
	opts: {
		observations: number;
		standby: StandbyView | undefined;
		/** The primary agent's last view; undefined when not configured or not polled yet. */
		primaryAgent?: PrimaryAgentView | undefined;
		nextAlarmAt: number | null;
		notifications: NotificationStatus;
		tailscaleSummary: string;
		connections?: Partial<Record<Side, ConnectionStats>>;
	},
): PairDetail {
	const s = store.state(summary.name);
	const observations = store.observations(summary.name, opts.observations);
	const standbyConfigured = pair?.witnesses.standby ?? false;
	return {
		...summary,
		pairState: s ?? null,
		counts: s ? { fails: s.fails, oks: s.oks, standbyMisses: s.standbyMisses } : null,
		observations,
		witnesses: {
			worker: { probe: summary.lastObservation },
			standby: {
				configured: standbyConfigured,
				view: opts.standby ?? null,
				summary: !standbyConfigured
					? "not a witness for this pair"
					: opts.standby === undefined || pair === undefined
						? "not polled: no agent client yet, so the standby's view is unknown"
						: describeStandby(opts.standby, pair),
			},
			tailscale: {
				configured: pair?.witnesses.tailscale !== undefined,
				summary: opts.tailscaleSummary,
			},
			primaryAgent: {
				configured: pair !== undefined && hasAgent(pair, "primary"),
				view: opts.primaryAgent ?? null,
				summary: describePrimaryAgent(
					pair !== undefined && hasAgent(pair, "primary"),
					opts.primaryAgent,
					summary.lastTickAt ?? 0,
				),
			},
		},
		nextAlarmAt: opts.nextAlarmAt,
		notifications: opts.notifications,
		configHash: store.getMeta("config_hash") ?? null,
		...(opts.connections ? { connections: opts.connections } : {}),
		...(s?.replication
			? {
					replicationDetail: replicationDetail(s, {
						primary: opts.primaryAgent,
						standby: opts.standby,
					}),
				}
			: {}),
	};
}
