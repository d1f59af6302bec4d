// The one notification model every provider formats: a PairEvent plus the pair it happened to.
import type { EventKind, Evidence, PairEvent, Severity } from "../types";

/** Headline per event kind; a Record so a new EventKind fails to compile until it has one. */
export const HEADLINES: Readonly<Record<EventKind, string>> = {
	promoting: "Failover started: promoting the standby",
	promoted: "Failover done: the standby is serving",
	"promote-failed": "Failover failed: the standby did not promote",
	demoting: "Failback started: demoting the standby",
	demoted: "Failback done: the primary is serving",
	"demote-failed": "Failback failed: the standby did not demote",
	"sync-failed": "The primary could not pull the standby's changes",
	"suspect-partition": "Witnesses disagree: possible partition, not failing over",
	"partition-cleared": "Witnesses agree again",
	held: "Held: waiting for an operator",
	"both-down": "Both sides down",
	recovered: "Recovered",
	"standby-unreachable": "The standby agent is unreachable",
	"standby-reachable": "The standby agent is reachable again",
	"standby-serving": "The standby's gateway is running while the primary is active",
	"failback-awaiting": "The primary is healthy: waiting for a manual failback",
	paused: "Watchdog paused",
	resumed: "Watchdog resumed",
	"term-adopted": "Term adopted from the agent",
	operator: "Operator action",
	drill: "Failover drill",
	synced: "The primary pulled the standby's changes",
	notification: "Notification delivery",
	"config-problem": "Configuration problem: a probe is refused or misdirected",
	"witness-broken": "A witness is broken: partition protection is off",
	"witness-silent": "A witness cannot vote",
	"witness-voting": "A witness votes again",
	"active-not-ready": "The active side's gateway is not ready",
	"failback-held": "Primary flapping: failback held",
	"restart-grace": "The primary's gateway is restarting: waiting out its start-up",
	maintenance: "Maintenance window",
	"term-anomaly": "Term anomaly: an agent reported an implausible term",
	"term-reset": "Term reset by the operator",
	"replication-failing": "Workspace replication is failing",
	"replication-held": "Workspace replication holds work back",
	"replication-conflict": "Merge conflicts: both sides changed the same files",
	"replication-refused": "Workspace files left out of replication",
	"condition-cleared": "Problem cleared",
};

export const SEVERITY_LABEL: Readonly<Record<Severity, string>> = {
	info: "INFO",
	warning: "WARNING",
	critical: "CRITICAL",
};

export interface NotifyMessage {
	readonly pair: string;
	readonly event: PairEvent;
	/** `<pair>: <headline>`, unescaped; each formatter escapes it for its own syntax. */
	readonly title: string;
	/** When it happened, ISO 8601 UTC. */
	readonly when: string;
	/** `from -> to (term N)`. */
	readonly transition: string;
	/** Link to the status page, when the deployment has one (http(s) only, else dropped). */
	readonly dashboardUrl?: string;
	/** Stable across retries and providers, so a receiver can drop a duplicate delivery. */
	readonly id: string;
}

function safeUrl(u: string | undefined): string | undefined {
	if (u === undefined) return undefined;
	try {
		const url = new URL(u);
		return url.protocol === "https:" || url.protocol === "http:" ? url.href : undefined;
	} catch {
		return undefined;
	}
}

export function buildMessage(
	pair: string,
	event: PairEvent,
	opts: { dashboardUrl?: string } = {},
): NotifyMessage {
	const dashboardUrl = safeUrl(opts.dashboardUrl);
	return Object.freeze({
		pair,
		event,
		title: `${pair}: ${HEADLINES[event.kind]}`,
		when: new Date(event.at).toISOString(),
		transition:
			event.from === event.to
				? `${event.to} (term ${event.term})`
				: `${event.from} -> ${event.to} (term ${event.term})`,
		...(dashboardUrl === undefined ? {} : { dashboardUrl }),
		id: `${pair}:${event.term}:${event.kind}:${event.at}`,
	});
}

/** Used when decide() gives no next step, so every message still says what to do. */
export const NO_ACTION_NEEDED = "Nothing to do; the watchdog keeps watching.";

export function nextStep(m: NotifyMessage): string {
	return m.event.next.trim() === "" ? NO_ACTION_NEEDED : m.event.next;
}

export const WITNESS_LABEL: Readonly<Record<Evidence["witness"], string>> = {
	worker: "worker probe",
	standby: "standby agent",
	tailscale: "Tailscale API",
	agent: "agent",
	operator: "operator",
};

/** What a witness saw, never empty (some providers reject empty fields). */
export function sawText(e: Evidence): string {
	return e.saw.trim() === "" ? "(nothing reported)" : e.saw;
}

/**
 * Keeps as many already-rendered lines as fit in `budget` (each line plus `sep`), reserving room
 * for a final "and N more" line when some are left out. Lengths are measured with `measure`.
 */
export function takeLines(
	lines: readonly string[],
	budget: number,
	opts: { sep: string; more: (n: number) => string; measure?: (s: string) => number },
): string[] {
	const measure = opts.measure ?? ((s: string) => s.length);
	const sep = measure(opts.sep);
	const total = lines.reduce((n, l) => n + measure(l) + sep, 0);
	if (total <= budget) return [...lines];
	const out: string[] = [];
	let used = 0;
	for (const [i, line] of lines.entries()) {
		const reserve = measure(opts.more(lines.length - i)) + sep;
		if (used + measure(line) + sep + reserve > budget) break;
		out.push(line);
		used += measure(line) + sep;
	}
	const more = opts.more(lines.length - out.length);
	if (used + measure(more) + sep <= budget) out.push(more);
	return out;
}
