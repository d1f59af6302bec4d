// The page's script (inlined under the CSP nonce): token in sessionStorage, refresh, operator buttons, live times.
//
// Markup is made only by the server (render.ts, one escape helper). The script swaps in the server's own
// #content from a fetch of this page, and writes every message of its own with textContent.

export const SCRIPT = `(() => {
"use strict";
const KEY = "failover-gateway.admin-token";
// Often enough to follow a failover as it happens; each refresh costs one Durable Object request per group
// (the Worker's memo answers anonymous readers within 5 s for free). While nothing a reader would notice
// changes (data-version), each wait doubles up to MAX_REFRESH_MS; a change, a command or a token resets it.
const REFRESH_MS = 10000;
const MAX_REFRESH_MS = 60000;
const CONFIRM = {
	promote: "Promote the standby of {pair} now? It starts serving and the primary is no longer active.",
	demote: "Demote the standby of {pair} now? It stops serving and hands back to the primary.",
	failback: "Fail {pair} back to the primary now? The standby stops and its workspace is pushed first.",
};
const $ = (id) => document.getElementById(id);
const token = {
	get() { try { return sessionStorage.getItem(KEY) || ""; } catch { return ""; } },
	set(v) { try { sessionStorage.setItem(KEY, v); } catch {} },
	clear() { try { sessionStorage.removeItem(KEY); } catch {} },
};
let timer = 0;
let inflight = false;
let delay = REFRESH_MS;
let version = "";

// kind: "command" messages stay until the next one; "refresh" and "auth" ones clear once resolved.
function say(text, tone, kind) {
	const el = $("message");
	el.textContent = text;
	el.dataset.tone = tone || "info";
	el.dataset.kind = kind || "";
	el.hidden = !text;
}

function authHeaders() {
	const t = token.get();
	return t ? { authorization: "Bearer " + t } : {};
}

function showTokenState() {
	const has = token.get() !== "";
	$("forget").hidden = !has;
	$("token").placeholder = has ? "token set for this tab" : "paste the admin token";
	for (const c of document.querySelectorAll(".controls")) c.hidden = false;
}

function two(n) { return String(n).padStart(2, "0"); }
function duration(ms) {
	const s = Math.max(0, Math.round(ms / 1000));
	if (s < 60) return s + " s";
	const m = Math.floor(s / 60);
	if (m < 60) return m + " min";
	const h = Math.floor(m / 60);
	if (h < 48) return m % 60 === 0 ? h + " h" : h + " h " + (m % 60) + " min";
	const d = Math.floor(h / 24);
	return h % 24 === 0 ? d + " d" : d + " d " + (h % 24) + " h";
}
function localTime(ms) {
	const d = new Date(ms);
	const today = new Date().toDateString() === d.toDateString();
	const time = two(d.getHours()) + ":" + two(d.getMinutes()) + ":" + two(d.getSeconds());
	return today ? time : d.getFullYear() + "-" + two(d.getMonth() + 1) + "-" + two(d.getDate()) + " " + time;
}
function tickTimes() {
	const now = Date.now();
	for (const el of document.querySelectorAll("[data-since]")) {
		el.textContent = duration(now - Number(el.dataset.since)) + (el.dataset.suffix || "");
	}
}
function localiseTimes(root) {
	for (const el of root.querySelectorAll("time[data-at]")) el.textContent = localTime(Number(el.dataset.at));
}

async function refresh() {
	if (inflight) return;
	inflight = true;
	try {
		const res = await fetch(location.pathname + "?part=content", { headers: authHeaders(), cache: "no-store" });
		const doc = new DOMParser().parseFromString(await res.text(), "text/html");
		const next = doc.getElementById("content");
		if (!next) throw new Error("HTTP " + res.status + " without the page content");
		const old = $("content");
		old.replaceWith(document.adoptNode(next));
		$("content").dataset.stale = "";
		const v = next.dataset.version || "";
		if (v !== version) { version = v; delay = REFRESH_MS; }
		else delay = Math.min(delay * 2, MAX_REFRESH_MS);
		afterRender();
	} catch (e) {
		const old = $("content");
		if (old) old.dataset.stale = "1";
		delay = Math.min(delay * 2, MAX_REFRESH_MS);
		say("Could not refresh: " + (e && e.message ? e.message : e) + ". Showing the last answer; retrying.", "error", "refresh");
	} finally {
		inflight = false;
	}
}

function afterRender() {
	showTokenState();
	localiseTimes(document);
	tickTimes();
	const auth = $("content").dataset.auth;
	const kind = $("message").dataset.kind;
	if (auth === "wrong" && token.get()) {
		if (kind !== "command") say("The admin token was refused: it is wrong. Enter it again or forget it.", "error", "auth");
	} else if (kind === "auth" || kind === "refresh") {
		say("", "info");
	}
}

// A chain of timeouts, not an interval: each wait is the current delay, read after the last refresh.
function schedule() {
	clearTimeout(timer);
	timer = setTimeout(async () => {
		if (document.visibilityState === "visible") await refresh();
		schedule();
	}, delay);
}

// The reader acted (token, command, returning to the tab): follow closely again.
function brisk() {
	delay = REFRESH_MS;
	schedule();
}

async function command(button) {
	const cmd = button.dataset.command;
	const pair = button.dataset.pair;
	const label = button.textContent;
	if (!token.get()) {
		say(label + " needs the admin token: enter it above first.", "error", "command");
		$("token").focus();
		return;
	}
	if (CONFIRM[cmd] && !window.confirm(CONFIRM[cmd].replace("{pair}", pair))) return;
	button.disabled = true;
	say(label + " " + pair + ": sending...", "info", "command");
	try {
		const res = await fetch("/api/v1/pairs/" + encodeURIComponent(pair) + "/" + encodeURIComponent(cmd), {
			method: "POST",
			headers: authHeaders(),
			cache: "no-store",
		});
		let body = null;
		try { body = await res.json(); } catch {}
		if (res.ok) {
			const state = body && body.state && body.state.state ? body.state.state : "?";
			say(label + " " + pair + ": done. State now " + state + ".", "ok", "command");
		} else {
			const why = body && body.error && body.error.message ? body.error.message : res.statusText;
			say(label + " " + pair + " failed (HTTP " + res.status + "): " + why, "error", "command");
		}
	} catch (e) {
		say(label + " " + pair + " failed: could not reach the watchdog (" + (e && e.message ? e.message : e) + ")", "error", "command");
	} finally {
		button.disabled = false;
		await refresh();
		brisk();
	}
}

document.addEventListener("click", (ev) => {
	const b = ev.target instanceof Element ? ev.target.closest("button[data-command]") : null;
	if (b) command(b);
});
$("token-form").addEventListener("submit", (ev) => {
	ev.preventDefault();
	const v = $("token").value.trim();
	$("token").value = "";
	if (!v) { say("Paste the admin token into the field first.", "error", "command"); return; }
	token.set(v);
	say("Token kept for this tab only (sessionStorage). Loading detail...", "info", "auth");
	refresh().then(brisk);
});
$("forget").addEventListener("click", () => {
	token.clear();
	say("Token forgotten.", "info", "command");
	refresh().then(brisk);
});
document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible") refresh().then(brisk); });

$("token-form").hidden = false;
version = $("content").dataset.version || "";
afterRender();
setInterval(tickTimes, 1000);
schedule();
// Detail needs the token, which only the script has: load it at once when this tab already holds one.
if (token.get()) refresh();
})();
`;
