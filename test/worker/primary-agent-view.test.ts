// What the status API and the page say about the primary's agent: its gateway's report, its maintenance
// window, and "restart grace off" without one. Agent-supplied text is escaped.
import { describe, expect, it } from "vitest";
import { renderDetail } from "../../worker/src/page/detail";
import {
	describeGateway,
	describePrimaryAgent,
	NO_PRIMARY_AGENT,
	type PairDetail,
} from "../../worker/src/pair-view";

const NOW = 1_800_000_000_000;
const EVIL = `<script>alert("x")</script>`;

describe("describePrimaryAgent", () => {
	it("says the restart grace is off without a primary agent", () => {
		expect(describePrimaryAgent(false, undefined, NOW)).toBe(
			"restart grace off (no primary agent)",
		);
		expect(describePrimaryAgent(false, undefined, NOW)).toBe(NO_PRIMARY_AGENT);
	});

	it("covers not polled, unreachable, an old agent, a report and a maintenance window", () => {
		expect(describePrimaryAgent(true, undefined, NOW)).toBe("not polled yet");
		expect(describePrimaryAgent(true, { reachable: false, reason: "timeout" }, NOW)).toBe(
			"primary agent unreachable: timeout",
		);
		expect(
			describePrimaryAgent(
				true,
				{ reachable: true, term: 1, gateway: null, maintenanceUntil: null },
				NOW,
			),
		).toMatch(/does not report its gateway/);
		const line = describePrimaryAgent(
			true,
			{
				reachable: true,
				term: 1,
				gateway: {
					state: "starting",
					failing: ["startup-sidecars"],
					uptimeMs: 10_400,
					detail: "HTTP 503, starting: startup-sidecars",
					ageMs: 1_600,
				},
				maintenanceUntil: NOW + 60_000,
			},
			NOW,
		);
		expect(line).toContain("its gateway starting, up 10 s: HTTP 503, starting: startup-sidecars");
		expect(line).toContain("checked 2 s before the poll");
		expect(line).toContain(`maintenance until ${new Date(NOW + 60_000).toISOString()}`);
	});

	it("an expired window is not shown", () => {
		const line = describePrimaryAgent(
			true,
			{ reachable: true, term: 1, gateway: null, maintenanceUntil: NOW - 1 },
			NOW,
		);
		expect(line).not.toContain("maintenance");
	});

	it("describeGateway leaves out an unknown uptime", () => {
		expect(
			describeGateway({ state: "stopped", failing: [], detail: "unit inactive", ageMs: 0 }),
		).toBe("its gateway stopped: unit inactive (checked 0 s before the poll)");
	});
});

function pairDetail(primaryAgent: PairDetail["witnesses"]["primaryAgent"]): PairDetail {
	return {
		name: "home",
		group: "default",
		watched: true,
		configErrors: [],
		state: "primary-active",
		active: "primary",
		term: 0,
		reason: null,
		since: NOW,
		lastTickAt: NOW,
		nextTickAt: NOW + 5_000,
		lastObservation: null,
		pairState: null,
		counts: null,
		observations: [],
		witnesses: {
			worker: { probe: null },
			standby: { configured: true, view: null, summary: "standby" },
			tailscale: { configured: false, summary: "not a witness for this pair" },
			...(primaryAgent ? { primaryAgent } : {}),
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
	};
}

describe("the page's primary agent card", () => {
	it("says the restart grace is off when none is configured (or the field is absent)", () => {
		for (const p of [
			pairDetail(undefined),
			pairDetail({ configured: false, view: null, summary: NO_PRIMARY_AGENT }),
		]) {
			const out = String(renderDetail({ ok: true, pair: p, events: [] }, NOW));
			expect(out).toContain("<b>Primary agent</b>");
			expect(out).toContain("restart grace off (no primary agent)");
		}
	});

	it("shows the agent's report, escaped", () => {
		const out = String(
			renderDetail(
				{
					ok: true,
					pair: pairDetail({ configured: true, view: null, summary: `its gateway ${EVIL}` }),
					events: [],
				},
				NOW,
			),
		);
		expect(out).not.toContain("<script>");
		expect(out).toContain("&lt;script&gt;");
	});
});
