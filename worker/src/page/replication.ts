// Each side's workspace replication on the page: a row per side for every reader, the agent's own words for token holders.
import type { PairDetail, PairSummary } from "../pair-view";
import { problemLabel } from "../replication-messages";
import type { ReplicationSummary } from "../replication-view";
import type { Side } from "../types";
import { type Html, html } from "./escape";
import { ago } from "./live-time";

const SIDES = ["primary", "standby"] as const;

/**
 * Per side: mode, last successful push and its age, commits pending (and how long the oldest has
 * waited), the standby's lag behind the remote, the current problem (a label, never the agent's text:
 * the summary is public). Nothing when no agent reports replication.
 */
export function replicationTable(s: PairSummary, now: number): Html | "" {
	const r = s.replication;
	if (!r || !SIDES.some((side) => r[side])) return "";
	const rows = SIDES.flatMap((side) => {
		const x = r[side];
		return x ? [row(side, x, now)] : [];
	});
	return html`<table class="repl" id="replication-${s.name}"><thead><tr><th>Workspace</th><th>Mode</th><th>Last push</th><th>Pending</th><th>Standby lag</th><th>Problem</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function row(side: Side, x: ReplicationSummary, now: number): Html {
	if (x.mode === "off") {
		return html`<tr data-side="${side}" data-mode="off"><td>${side}</td><td class="muted">off</td><td colspan="4" class="muted">replication not configured on this agent (as of ${ago(x.seenAt, now, true)})</td></tr>`;
	}
	const push =
		x.lastPushAt === null
			? html`<span class="muted">none yet</span>`
			: ago(x.lastPushAt, now, true);
	const pending =
		x.pendingCommits === 0
			? "0"
			: html`${x.pendingCommits}${x.oldestPendingAt === null ? "" : html` <span class="small muted">(oldest ${ago(x.oldestPendingAt, now, false)})</span>`}`;
	const lag =
		x.behindCommits === null
			? html`<span class="muted">—</span>`
			: html`${x.behindCommits} behind${x.lastFetchAt === null ? "" : html` <span class="small muted">(fetched ${ago(x.lastFetchAt, now, true)})</span>`}`;
	const problem = x.problem
		? html`<span class="warn">${problemLabel(x.problem.kind)}</span> <span class="small muted">since ${ago(x.problem.since, now, false)}</span>`
		: html`<span class="ok">none</span>`;
	const tone = x.mode === "held" || x.problem ? "warn" : "";
	return html`<tr data-side="${side}" data-mode="${x.mode}"><td>${side}</td><td class="${tone}">${x.mode}${x.watch === "timer" ? html` <span class="small muted">(timer only)</span>` : ""}</td><td>${push}</td><td>${pending}</td><td>${lag}</td><td>${problem}${x.refusedCount > 0 ? html`<div class="small muted">${x.refusedCount} path(s) not replicated</div>` : ""}</td></tr>`;
}

/** Token holders: what each agent says about its problem, the held branch and the refused paths. */
export function replicationCards(p: PairDetail, now: number): Html | "" {
	const d = p.replicationDetail;
	if (!d) return "";
	const cards = SIDES.flatMap((side) => {
		const x = d[side];
		if (!x) return [];
		const f = x.facts;
		if (f === null)
			return [
				html`<div class="card"><b>${side}</b><span class="muted">replication not configured</span></div>`,
			];
		return [
			html`<div class="card"><b>${side}: ${f.mode}</b>${f.problem ? html`<div class="warn">${f.problem.kind}: ${f.problem.message}</div><div class="small">${f.problem.hint}</div>` : html`<span class="ok">no problem</span>`}${f.heldBranch ? html`<div class="small">held on <code>${f.heldBranch}</code></div>` : ""}${x.refused.length > 0 ? html`<div class="small muted">not replicated: ${x.refused.map((path, i) => html`${i > 0 ? ", " : ""}<code>${path}</code>`)}</div>` : ""}<div class="small muted">read ${ago(x.seenAt, now, true)}</div></div>`,
		];
	});
	return html`<div class="cards">${cards}</div>`;
}
