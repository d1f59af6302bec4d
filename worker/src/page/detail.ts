// A pair's detail (token holders only): witness views, the probe timeline, last drill, notifications, event log.
import {
	describeConnection,
	describeGateway,
	NO_PRIMARY_AGENT,
	type PairDetail,
} from "../pair-view";
import type { StoredEvent } from "../store";
import type { DrillRun } from "../types";
import { timelineCaption, timelineSvg } from "./chart";
import { type Html, html } from "./escape";
import { formatDuration, formatMs } from "./format";
import { ago, instant } from "./live-time";
import { PAGE_EVENTS, type PairDetailView, TIMELINE_WINDOW_MS } from "./model";
import { replicationCards } from "./replication";

export function renderDetail(view: PairDetailView, now: number): Html {
	if (!view.ok) {
		return html`<p class="banner error">Detail unavailable: ${view.error}</p>`;
	}
	const p = view.pair;
	return html`<div class="detail">
<h3>Witnesses</h3>${witnesses(p, now)}
${p.replicationDetail ? html`<h3>Workspace replication</h3>${replicationCards(p, now)}` : ""}
<h3>Probe timeline</h3>
<div class="chart">${timelineSvg(p.observations, { now, windowMs: TIMELINE_WINDOW_MS })}</div>
<p class="small caption">${timelineCaption(p.observations, { now, windowMs: TIMELINE_WINDOW_MS })}</p>
<div class="legend"><span><i class="l-line"></i>latency of successful probes (slowest per column)</span><span><i class="l-fail"></i>failed probes</span><span>band: state</span></div>
<h3>Last drill</h3>${drill(p, now)}
<h3>Notifications</h3>${notifications(p, now)}
<h3>Event log <span class="muted small">(newest ${PAGE_EVENTS}; all at /api/v1/pairs/${p.name}/events)</span></h3>
${events(view.events)}
</div>`;
}

function witnesses(p: PairDetail, now: number): Html {
	const o = p.witnesses.worker.probe;
	const worker = o
		? html`${o.ok ? html`<span class="ok">ready</span>` : html`<span class="bad">failed: ${o.reason ?? "?"}</span>`}${o.status === null ? "" : ` · HTTP ${o.status}`} · ${formatMs(o.ms)} · ${ago(o.at, now, true)}${o.detail ? html`<div class="small muted">${o.detail}</div>` : ""}`
		: html`<span class="muted">no probe yet</span>`;
	const sb = p.witnesses.standby;
	const v = sb.view;
	const standbyExtra =
		v?.reachable === true
			? html`<div class="small muted">agent term ${v.term} · its gateway ${v.gatewayActive ? "running" : "stopped"}${v.primary?.latencyMs !== undefined ? ` · its probe ${formatMs(v.primary.latencyMs)}` : ""}${v.gateway ? html`<br>${describeGateway(v.gateway)}` : ""}</div>`
			: "";
	const pa = p.witnesses.primaryAgent;
	const counts = p.counts;
	const pending = p.pairState?.pending;
	return html`<div class="cards">
<div class="card"><b>Worker probe of the primary</b>${worker}</div>
<div class="card"><b>Standby agent</b>${sb.configured ? "" : html`<span class="muted">(not a witness) </span>`}${sb.summary}${standbyExtra}</div>
<div class="card"><b>Tailscale</b>${p.witnesses.tailscale.summary}</div>
<div class="card"><b>Primary agent</b>${pa?.configured ? pa.summary : html`<span class="muted">${NO_PRIMARY_AGENT}</span>`}</div>
${(["primary", "standby"] as const).map((side) => {
	const c = p.connections?.[side];
	return c
		? html`<div class="card"><b>${side === "primary" ? "Primary" : "Standby"} agent's connection (dial-out)</b>${describeConnection(c, now)}${c.lastRefusal ? html`<div class="small muted">newest refusal: ${c.lastRefusal}</div>` : ""}</div>`
		: "";
})}
<div class="card"><b>Counters</b>${counts ? `${counts.fails} failed and ${counts.oks} good probes in a row · standby missed ${counts.standbyMisses} polls` : "—"}${pending ? html`<div class="small warn">pending: ${pending.action} to the ${pending.target} (term ${pending.term}, attempt ${pending.attempt}, op ${pending.opId})</div>` : ""}</div>
</div>`;
}

function drill(p: PairDetail, now: number): Html {
	const running = p.pairState?.drill;
	const last = p.pairState?.lastDrill;
	const out: Html[] = [];
	if (running) {
		out.push(
			html`<p class="warn">A drill is running, started ${ago(running.startedAt, now, true)}${running.promotedAt ? `; standby ready after ${formatDuration(running.promotedAt - running.startedAt)}` : ""}.</p>`,
		);
	}
	if (last) out.push(lastDrill(last, now));
	if (out.length === 0)
		out.push(
			html`<p class="muted">No drill yet. Run one a month: Drill promotes the standby, checks it is ready, and fails back.</p>`,
		);
	return html`${out}`;
}

function lastDrill(d: DrillRun, now: number): Html {
	const verdict =
		d.ok === true
			? html`<span class="ok">passed</span>`
			: d.ok === false
				? html`<span class="bad">failed</span>`
				: html`<span class="muted">unfinished</span>`;
	const took =
		d.finishedAt !== undefined ? ` in ${formatDuration(d.finishedAt - d.startedAt)}` : "";
	return html`<p class="drill">${verdict}${took}, started ${ago(d.startedAt, now, true)}${d.outcome ? html`: ${d.outcome}` : ""}</p>`;
}

function notifications(p: PairDetail, now: number): Html {
	const n = p.notifications;
	const last = Object.entries(n.last).map(
		([name, d]) =>
			html`<li>${name}: ${d.ok ? html`<span class="ok">sent</span>` : html`<span class="bad">failed</span>`} “${d.kind}” ${ago(d.at, now, true)}${d.attempts > 1 ? ` after ${d.attempts} attempts` : ""}${d.error ? html` · <span class="bad">${d.error}</span>` : ""}</li>`,
	);
	return html`<div class="card">${n.notifiers.length === 0 ? html`<span class="muted">No notifiers configured.</span>` : html`Configured: ${n.notifiers.join(", ")} · sent ${n.sent}, repeats suppressed ${n.suppressed} since the object started`}
${n.configErrors.map((e) => html`<div class="bad small">${e}</div>`)}
${last.length > 0 ? html`<ul class="small">${last}</ul>` : ""}${outbox(n.outbox, now)}</div>`;
}

/** Messages waiting for a retry (notification-hub.ts): how many, since when, and the next try. */
function outbox(o: PairDetail["notifications"]["outbox"], now: number): Html | string {
	if (o.waiting === 0) return "";
	const critical = o.critical > 0 ? html`, <span class="bad">${o.critical} critical</span>` : "";
	const since = o.oldestAt !== undefined ? html`, oldest failed ${ago(o.oldestAt, now, true)}` : "";
	const next =
		o.nextAt !== undefined
			? o.nextAt <= now
				? ", retried on the next alarm"
				: html`, next try in ${formatDuration(o.nextAt - now)}`
			: "";
	return html`<div class="small">Outbox: <span class="bad">${o.waiting} waiting</span> for a retry${critical}${since}${next}</div>`;
}

function events(list: readonly StoredEvent[]): Html {
	if (list.length === 0) return html`<p class="muted">No events yet.</p>`;
	const rows = list.map(
		(e) =>
			html`<tr class="event kind-${e.kind}"><td class="when">${instant(e.at)}</td><td><span class="sev sev-${e.severity}">${e.severity}</span><b>${e.kind}</b>${e.from !== e.to ? html` <span class="muted">${e.from} → ${e.to}</span>` : ""} <span class="muted small">term ${e.term}</span>
<div class="summary">${e.summary}</div>${e.evidence.length > 0 ? html`<ul class="evidence">${e.evidence.map((ev) => html`<li>${ev.witness}: ${ev.saw}</li>`)}</ul>` : ""}${e.next ? html`<p class="next">Next: ${e.next}</p>` : ""}</td></tr>`,
	);
	return html`<div class="scroll"><table class="events"><tbody>${rows}</tbody></table></div>`;
}
