// The status page document: header, token form, notices and one card per pair (summary; detail with the token).
import type { PairSummary } from "../pair-view";
import { renderDetail } from "./detail";
import { type Html, html, raw } from "./escape";
import { formatDuration, formatMs, formatUtc, stateLabel, stateTone } from "./format";
import { ago, instant } from "./live-time";
import { NOSCRIPT_REFRESH_S, type PageView, type PairPageView } from "./model";
import { replicationTable } from "./replication";
import { SCRIPT } from "./script";
import { STYLES } from "./styles";

const COMMANDS: { command: string; label: string; danger: boolean }[] = [
	{ command: "pause", label: "Pause", danger: false },
	{ command: "resume", label: "Resume", danger: false },
	{ command: "drill", label: "Drill", danger: false },
	{ command: "promote", label: "Promote standby", danger: true },
	{ command: "demote", label: "Demote standby", danger: true },
	{ command: "failback", label: "Fail back", danger: true },
];

export function renderPage(view: PageView, nonce: string): string {
	return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>failover-gateway status</title>
<noscript><meta http-equiv="refresh" content="${NOSCRIPT_REFRESH_S}"></noscript>
<style nonce="${nonce}">${raw(STYLES)}</style>
</head><body><div class="wrap">
<header class="top"><h1>failover-gateway <small>status</small></h1>
<form class="token" id="token-form" hidden>
<label class="small muted" for="token">Admin token</label>
<input id="token" name="token" type="password" autocomplete="off" spellcheck="false" placeholder="paste the admin token">
<button type="submit" class="primary">Use token</button>
<button type="button" id="forget" hidden>Forget token</button>
</form></header>
<noscript><p class="banner" id="noscript-note">Without JavaScript this page shows the summary and reloads every ${NOSCRIPT_REFRESH_S} s. Witness views, the probe timeline, the event log and the operator buttons need JavaScript and the admin token.</p></noscript>
<div id="message" role="status" aria-live="polite" hidden></div>
${renderContent(view)}
<footer>Times are UTC until the script shows them in your zone. JSON: <a href="/api/v1/pairs">/api/v1/pairs</a> · <a href="/healthz">/healthz</a></footer>
</div><script nonce="${nonce}">${raw(SCRIPT)}</script></body></html>`.value;
}

/**
 * A fingerprint of what a reader would notice changing: states, terms, reasons, config errors, newest
 * events, problems. Not the probe timeline or tick times, which move every tick: the script slows its
 * refresh while this stays the same and returns to its base pace when it changes.
 */
export function contentVersion(view: PageView): string {
	const facts = view.pairs.map((p) => {
		const s = p.summary;
		const d = p.detail;
		const newestEvent = d?.ok ? (d.events[0]?.seq ?? 0) : null;
		const repl = (["primary", "standby"] as const).map((side) => {
			const r = s.replication?.[side];
			return r ? [r.mode, r.mode === "off" ? null : (r.problem?.kind ?? null)] : null;
		});
		return [s.name, s.state, s.active, s.term, s.reason, s.configErrors.length, newestEvent, repl];
	});
	const text = JSON.stringify([view.auth, view.canRead, facts, view.problems]);
	// FNV-1a, 32 bit: telling two answers apart, not a security measure.
	let h = 0x811c9dc5;
	for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
	return (h >>> 0).toString(16).padStart(8, "0");
}

/** The part the script swaps on each refresh (GET /?part=content); data-auth says if its token was accepted. */
export function renderContent(view: PageView): Html {
	return html`<main id="content" data-auth="${view.auth}" data-mode="${view.mode}" data-version="${contentVersion(view)}">
${notices(view)}
${view.canRead ? view.pairs.map((p) => renderPair(p, view.now)) : ""}
${view.canRead && view.pairs.length === 0 ? html`<p class="banner">No pairs are configured: set WATCHDOG_CONFIG (see docs/configuration.md).</p>` : ""}
<p class="muted small">Updated ${instant(view.now)}.</p>
</main>`;
}

function notices(view: PageView): Html[] {
	const out: Html[] = [];
	if (view.auth === "wrong") {
		out.push(
			html`<p class="banner error" id="auth-refused">The admin token was refused: it is wrong. Enter it again, or forget it.</p>`,
		);
	}
	if (view.auth === "unset") {
		out.push(
			html`<p class="banner warn">No admin token is set on this Worker, so detail and operator commands are off: npx wrangler secret put ADMIN_TOKEN.</p>`,
		);
	}
	if (!view.canRead) {
		out.push(
			html`<p class="banner">This status page is private (STATUS_PAGE is not "public"): enter the admin token to see the pairs.</p>`,
		);
	}
	// A weak token is named among the problems (health.ts), with the command that replaces it.
	if (view.canRead && view.auth !== "valid" && view.auth !== "unset" && view.auth !== "weak") {
		out.push(
			html`<p class="muted small">Enter the admin token for witness views, the probe timeline, the event log and the operator buttons.</p>`,
		);
	}
	for (const p of view.problems) out.push(html`<p class="banner warn">${p}</p>`);
	return out;
}

function renderPair(p: PairPageView, now: number): Html {
	const s = p.summary;
	const tone = stateTone(s.state);
	return html`<section class="pair tone-${tone}" id="pair-${s.name}" data-pair="${s.name}" data-state="${s.state ?? "none"}">
<div class="pair-head"><h2>${s.name}</h2><span class="badge state">${stateLabel(s.state)}</span>${s.group !== "default" ? html`<span class="muted small">group ${s.group}</span>` : ""}</div>
${facts(s, now)}
${s.reason ? html`<p class="reason">${s.reason}</p>` : ""}
${replicationTable(s, now)}
${s.problems?.length ? html`<div class="banner warn"><b>Problems:</b><ul>${s.problems.map((t) => html`<li>${t}</li>`)}</ul></div>` : ""}
${s.configErrors.length > 0 ? html`<div class="banner error"><b>Not watched: the config has errors.</b><ul>${s.configErrors.map((e) => html`<li><code>${e.path}</code>: ${e.message}</li>`)}</ul></div>` : ""}
<div class="controls" hidden>${COMMANDS.map(
		(c) =>
			html`<button type="button" class="${c.danger ? "danger" : ""}" data-command="${c.command}" data-pair="${s.name}">${c.label}</button>`,
	)}</div>
${p.detail ? renderDetail(p.detail, now) : ""}
</section>`;
}

function facts(s: PairSummary, now: number): Html {
	const o = s.lastObservation;
	const probe = o
		? o.ok
			? html`<span class="ok">ok</span> ${formatMs(o.ms)}`
			: html`<span class="bad">failed</span> (${o.reason ?? "?"})`
		: "none yet";
	return html`<dl class="facts">
<div><dt>Active</dt><dd class="active">${s.active ?? "—"}</dd></div>
<div><dt>Term</dt><dd>${s.term ?? "—"}</dd></div>
<div><dt>In this state</dt><dd>${s.since === null ? "—" : ago(s.since, now, false)}</dd></div>
<div><dt>Last probe</dt><dd>${probe}</dd></div>
<div><dt>Last tick</dt><dd>${s.lastTickAt === null ? "never" : ago(s.lastTickAt, now, true)}</dd></div>
</dl>`;
}
