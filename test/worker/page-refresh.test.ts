// The page's refresh backoff keys on data-version: it moves when a reader would notice a change (state,
// term, reason, a new event, a problem), not on every tick (timeline, tick times).
import { describe, expect, it } from "vitest";
import type { PageView } from "../../worker/src/page/model";
import { contentVersion, renderContent } from "../../worker/src/page/render";
import { SCRIPT } from "../../worker/src/page/script";
import type { PairSummary } from "../../worker/src/pair-view";

const NOW = 1_800_000_000_000;

function summary(over: Partial<PairSummary> = {}): PairSummary {
	return {
		name: "home",
		group: "default",
		watched: true,
		configErrors: [],
		state: "primary-active",
		active: "primary",
		term: 0,
		reason: "primary ready",
		since: NOW - 60_000,
		lastTickAt: NOW - 1_000,
		nextTickAt: NOW + 4_000,
		lastObservation: {
			seq: 10,
			at: NOW - 1_000,
			ok: true,
			status: 200,
			ms: 12,
			reason: null,
			detail: null,
			standby: null,
			state: "primary-active",
			term: 0,
		},
		...over,
	};
}

const view = (s: PairSummary, problems: string[] = []): PageView => ({
	now: NOW,
	mode: "public",
	auth: "missing",
	canRead: true,
	pairs: [{ summary: s }],
	problems,
});

describe("data-version", () => {
	it("stays the same across ticks that change nothing a reader would notice", () => {
		const a = contentVersion(view(summary()));
		const later = summary({
			lastTickAt: NOW + 4_000,
			nextTickAt: NOW + 9_000,
			lastObservation: {
				...(summary().lastObservation as NonNullable<PairSummary["lastObservation"]>),
				seq: 11,
				ms: 30,
			},
		});
		expect(contentVersion({ ...view(later), now: NOW + 5_000 })).toBe(a);
	});

	it("moves on a state, term, reason or problem change", () => {
		const a = contentVersion(view(summary()));
		expect(contentVersion(view(summary({ state: "suspect-partition" })))).not.toBe(a);
		expect(contentVersion(view(summary({ term: 1 })))).not.toBe(a);
		expect(contentVersion(view(summary({ reason: "probe failed" })))).not.toBe(a);
		expect(
			contentVersion(view(summary(), ["group g: its Durable Object did not answer"])),
		).not.toBe(a);
	});

	it("is on the swapped <main>, and the script backs off to a minute and resets on a change", () => {
		expect(renderContent(view(summary())).value).toMatch(
			/^<main id="content"[^>]* data-version="[0-9a-f]{8}"/,
		);
		expect(SCRIPT).toContain("const MAX_REFRESH_MS = 60000;");
		expect(SCRIPT).toContain("if (v !== version) { version = v; delay = REFRESH_MS; }");
		expect(SCRIPT).toContain("else delay = Math.min(delay * 2, MAX_REFRESH_MS);");
	});
});
