import { describe, expect, it } from "vitest";
import { escapeHtml, html } from "../../worker/src/page/escape";
import type { PageView } from "../../worker/src/page/model";
import { renderPage } from "../../worker/src/page/render";
import type { PairDetail, PairSummary } from "../../worker/src/pair-view";
import type { ObservationRow, StoredEvent } from "../../worker/src/store";
import type { PairState } from "../../worker/src/types";

const NOW = 1_800_000_000_000;
const EVIL = `<script>alert("x")</script>"'><img src=x onerror=alert(1)>`;
const NONCE = "dGVzdC1ub25jZS0xMjM0NQ==";

const observation = (over: Partial<ObservationRow> = {}): ObservationRow => ({
	seq: 1,
	at: NOW - 5_000,
	ok: false,
	status: 502,
	ms: 40,
	reason: "http-status",
	detail: `body: ${EVIL}`,
	standby: EVIL,
	state: "held",
	term: 2,
	...over,
});

function summary(name: string): PairSummary {
	return {
		name,
		group: `grp${EVIL}`,
		watched: false,
		configErrors: [{ path: `pairs.${EVIL}`, message: EVIL }],
		state: "held",
		active: "standby",
		term: 2,
		reason: `held because ${EVIL}`,
		since: NOW - 90_000,
		lastTickAt: NOW - 2_000,
		nextTickAt: NOW + 3_000,
		lastObservation: observation(),
	};
}

function detail(name: string): PairDetail {
	const state: PairState = {
		state: "held",
		active: "standby",
		term: 2,
		since: NOW - 90_000,
		activeSince: NOW - 90_000,
		fails: 3,
		oks: 0,
		standbyMisses: 0,
		pending: {
			action: "promote",
			target: "standby",
			term: 2,
			opId: `op${EVIL}`,
			attempt: 1,
			issuedAt: NOW,
		},
		failovers: [],
		resumeTo: null,
		reason: EVIL,
		announced: [],
		drill: null,
		lastDrill: { startedAt: NOW - 60_000, finishedAt: NOW - 30_000, ok: false, outcome: EVIL },
	};
	return {
		...summary(name),
		pairState: state,
		counts: { fails: 3, oks: 0, standbyMisses: 0 },
		observations: [observation(), observation({ seq: 2, at: NOW - 1_000, ok: true, reason: null })],
		witnesses: {
			worker: { probe: observation() },
			standby: { configured: true, view: null, summary: `standby says ${EVIL}` },
			tailscale: { configured: true, summary: `tailscale ${EVIL}` },
		},
		nextAlarmAt: NOW + 1_000,
		notifications: {
			notifiers: [`hook${EVIL}`],
			configErrors: [EVIL],
			last: { [`n${EVIL}`]: { at: NOW, ok: false, attempts: 3, kind: "held", error: EVIL } },
			sent: 1,
			suppressed: 0,
			outbox: { waiting: 0, critical: 0 },
		},
		configHash: null,
	};
}

const event: StoredEvent = {
	seq: 1,
	kind: "held",
	severity: "critical",
	at: NOW - 10_000,
	from: "promoting",
	to: "held",
	term: 2,
	summary: `summary ${EVIL}`,
	evidence: [{ witness: "worker", saw: `saw ${EVIL}` }],
	next: `next ${EVIL}`,
	notify: true,
};

function page(over: Partial<PageView> = {}): string {
	const name = `home${EVIL}`;
	return renderPage(
		{
			now: NOW,
			mode: "public",
			auth: "valid",
			canRead: true,
			pairs: [
				{
					summary: summary(name),
					detail: { ok: true, pair: detail(name), events: [event] },
				},
			],
			problems: [`problem ${EVIL}`],
			...over,
		},
		NONCE,
	);
}

/** Every element and attribute name, as a browser's parser would see them (HTMLRewriter is lol-html). */
async function parse(doc: string) {
	const tags: string[] = [];
	const attributes: string[] = [];
	const scripts: (string | null)[] = [];
	await new HTMLRewriter()
		.on("*", {
			element(e) {
				tags.push(e.tagName);
				for (const [n] of e.attributes) if (n !== undefined) attributes.push(n);
				if (e.tagName === "script") scripts.push(e.getAttribute("nonce"));
			},
		})
		.transform(new Response(doc))
		.text();
	return { tags, attributes, scripts };
}

describe("escaping", () => {
	it("escapes the five characters that matter in text and quoted attributes", () => {
		expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe(
			"&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;",
		);
		expect(html`<p title="${'"x"'}">${"<b>"}${html`<i>ok</i>`}${null}${[1, "<2>"]}</p>`.value).toBe(
			'<p title="&quot;x&quot;">&lt;b&gt;<i>ok</i>1&lt;2&gt;</p>',
		);
	});

	it("renders hostile pair names, reasons, probe details, events and evidence inert", async () => {
		const doc = page();
		const { tags, attributes, scripts } = await parse(doc);
		// The page's own script is the only one, and it carries the nonce.
		expect(scripts).toEqual([NONCE]);
		expect(tags).not.toContain("img");
		expect(attributes.filter((a) => a.startsWith("on"))).toEqual([]);
		expect(doc).not.toContain('<script>alert("x")');
		for (const shown of [
			"held because ",
			"summary ",
			"saw ",
			"next ",
			"standby says ",
			"tailscale ",
			"problem ",
			"body: ",
		]) {
			expect(doc, shown).toContain(`${shown}${escapeHtml(EVIL)}`);
		}
		// In attributes too: the pair name in id and data-pair.
		expect(doc).toContain(`data-pair="home${escapeHtml(EVIL)}"`);
	});

	it("shows messages waiting in the notification outbox, and nothing when none wait", () => {
		const name = "home";
		const base = detail(name);
		const withOutbox = (outbox: PairDetail["notifications"]["outbox"]) =>
			page({
				pairs: [
					{
						summary: summary(name),
						detail: {
							ok: true,
							pair: { ...base, notifications: { ...base.notifications, outbox } },
							events: [],
						},
					},
				],
			});
		const waiting = withOutbox({
			waiting: 3,
			critical: 1,
			oldestAt: NOW - 120_000,
			nextAt: NOW + 90_000,
		});
		expect(waiting).toContain("3 waiting</span> for a retry");
		expect(waiting).toContain("1 critical");
		expect(waiting).toContain("next try in");
		expect(withOutbox({ waiting: 0, critical: 0 })).not.toContain("Outbox:");
	});

	it("without the token: no detail and no data beyond the summary; private and not allowed: no pair at all", async () => {
		const name = "home";
		const pub = page({
			auth: "missing",
			pairs: [{ summary: { ...summary(name), lastObservation: null } }],
		});
		expect(pub).toContain('id="pair-home"');
		expect(pub).not.toContain('class="detail"');
		expect(pub).not.toContain("Probe timeline");
		const priv = page({ mode: "private", auth: "wrong", canRead: false, pairs: [], problems: [] });
		expect(priv).not.toContain("pair-home");
		expect(priv).toContain("This status page is private");
		expect(priv).toContain('id="auth-refused"');
		expect(priv).toContain('data-auth="wrong"');
	});
});
