// The page's replication rows: per side mode, last push and its age, pending, the standby's lag, the problem;
// the agent's own words (message, hint, held branch, refused paths) only in a token holder's detail, escaped.
import { describe, expect, it } from "vitest";
import { escapeHtml } from "../../worker/src/page/escape";
import { renderPage } from "../../worker/src/page/render";
import type { PairDetail, PairSummary } from "../../worker/src/pair-view";
import type { ReplicationFacts } from "../../worker/src/types";

const NOW = 1_800_000_000_000;
const EVIL = `<script>alert("x")</script><img src=x onerror=alert(1)>`;

function summary(over: Partial<PairSummary> = {}): PairSummary {
	return {
		name: "home",
		group: "default",
		watched: true,
		configErrors: [],
		state: "primary-active",
		active: "primary",
		term: 1,
		reason: "primary ready",
		since: NOW - 90_000,
		lastTickAt: NOW - 2_000,
		nextTickAt: NOW + 3_000,
		lastObservation: null,
		replication: {
			primary: {
				mode: "active",
				seenAt: NOW - 2_000,
				lastPushAt: NOW - 700_000,
				pendingCommits: 4,
				oldestPendingAt: NOW - 650_000,
				behindCommits: null,
				lastFetchAt: null,
				watch: "timer",
				problem: { kind: "stalled", since: NOW - 300_000 },
				refusedCount: 2,
			},
			standby: {
				mode: "standby",
				seenAt: NOW - 2_000,
				lastPushAt: null,
				pendingCommits: 0,
				oldestPendingAt: null,
				behindCommits: 3,
				lastFetchAt: NOW - 20_000,
				watch: "watching",
				problem: null,
				refusedCount: 0,
			},
		},
		...over,
	};
}

const facts: ReplicationFacts = {
	mode: "held",
	lastPushAt: NOW - 700_000,
	pendingCommits: 4,
	oldestPendingAt: NOW - 650_000,
	behindCommits: null,
	lastFetchAt: null,
	heldBranch: `failover/primary-20270115T080000Z${EVIL}`,
	watch: "watching",
	problem: {
		kind: "held",
		message: `held because ${EVIL}`,
		hint: `hint ${EVIL}`,
		since: NOW - 1_000,
	},
	refusedCount: 1,
};

function detail(): PairDetail {
	return {
		...summary(),
		pairState: null,
		counts: null,
		observations: [],
		witnesses: {
			worker: { probe: null },
			standby: { configured: true, view: null, summary: "s" },
			tailscale: { configured: false, summary: "t" },
		},
		nextAlarmAt: null,
		notifications: {
			notifiers: [],
			configErrors: [],
			last: {},
			sent: 0,
			suppressed: 0,
			outbox: { waiting: 0, critical: 0 },
		},
		configHash: null,
		replicationDetail: {
			primary: {
				seenAt: NOW - 2_000,
				facts,
				raised: { kind: "held", at: NOW - 1_000 },
				refused: [`big${EVIL}.bin`],
			},
			standby: { seenAt: NOW - 2_000, facts: null, raised: null, refused: [] },
		},
	};
}

const render = (pair: PairSummary, withDetail = false) =>
	renderPage(
		{
			now: NOW,
			mode: "public",
			auth: withDetail ? "valid" : "missing",
			canRead: true,
			pairs: [
				withDetail
					? { summary: pair, detail: { ok: true, pair: detail(), events: [] } }
					: { summary: pair },
			],
			problems: [],
		},
		"bm9uY2U=",
	);

/** The row of one side, as text without tags. */
function rowText(doc: string, side: string): string {
	const m = doc.match(new RegExp(`<tr data-side="${side}"[^>]*>(.*?)</tr>`));
	return (m?.[1] ?? "")
		.replace(/<\/td>|<div[^>]*>/g, " ")
		.replace(/<[^>]+>/g, "")
		.replace(/\s+/g, " ")
		.trim();
}

describe("the replication rows on the page", () => {
	it("every reader sees, per side, mode, last push and its age, pending, lag and the problem's label", () => {
		const doc = render(summary());
		expect(doc).toContain('id="replication-home"');
		expect(rowText(doc, "primary")).toBe(
			"primary active (timer only) 11 min ago 4 (oldest 10 min) — stalled: commits are not reaching the remote since 5 min 2 path(s) not replicated",
		);
		expect(rowText(doc, "standby")).toBe(
			"standby standby none yet 0 3 behind (fetched 20 s ago) none",
		);
		// The ages count on in the reader's browser (live-time.ts).
		expect(doc).toContain(`data-since="${NOW - 700_000}"`);
	});

	it("a side with replication not configured says so; no agent reporting it: no table", () => {
		const off = render(summary({ replication: { standby: { mode: "off", seenAt: NOW - 2_000 } } }));
		expect(rowText(off, "standby")).toMatch(
			/^standby off replication not configured on this agent/,
		);
		expect(off).not.toContain('data-side="primary"');
		const none = render(summary({ replication: undefined }));
		expect(none).not.toContain("replication-home");
	});

	it("without the token no agent words; with it the message, hint, held branch and refused paths, escaped", () => {
		const pub = render(summary());
		expect(pub).not.toContain("held because");
		const admin = render(summary(), true);
		expect(admin).toContain("Workspace replication</h3>");
		for (const shown of ["held because ", "hint ", "failover/primary-20270115T080000Z", "big"]) {
			expect(admin, shown).toContain(`${shown}${escapeHtml(EVIL)}`);
		}
		expect(admin).not.toContain("<img src=x");
		expect(admin).toContain('standby</b><span class="muted">replication not configured</span>');
	});
});
