import { describe, expect, it } from "vitest";
import { timelineCaption, timelineSvg } from "../../worker/src/page/chart";
import type { ObservationRow } from "../../worker/src/store";

const NOW = 1_800_000_000_000;
const HOUR = 3_600_000;

/** One probe every `everyMs` back from NOW; `fail(i)` picks the failed ones (i = 0 is the newest). */
function history(count: number, everyMs: number, fail: (i: number) => boolean = () => false) {
	return Array.from(
		{ length: count },
		(_, i): ObservationRow => ({
			seq: count - i,
			at: NOW - i * everyMs,
			ok: !fail(i),
			status: fail(i) ? null : 200,
			ms: fail(i) ? 2500 : 20 + (i % 7),
			reason: fail(i) ? "connect-error" : null,
			detail: fail(i) ? "connection refused" : null,
			standby: null,
			state: "primary-active",
			term: 0,
		}),
	);
}

const count = (svg: string, needle: string) => svg.split(needle).length - 1;

describe("probe timeline chart", () => {
	it("says so when there is no history", () => {
		const svg = timelineSvg([], { now: NOW, windowMs: HOUR }).value;
		expect(svg).toMatch(/^<svg class="timeline timeline-empty"/);
		expect(svg).toContain("No probes in the last 1 h");
		expect(svg).toContain('data-failures="0"');
		expect(count(svg, "tl-fail")).toBe(0);
		expect(timelineCaption([], { now: NOW, windowMs: HOUR })).toBe("No probes in the last 1 h.");
	});

	it("marks failed probes and breaks the latency line at them", () => {
		// An hour at 5 s (both ends included); probes 100..109 (about 8 min ago) failed.
		const obs = history(721, 5_000, (i) => i >= 100 && i < 110);
		const svg = timelineSvg(obs, { now: NOW, windowMs: HOUR }).value;
		expect(svg).toContain('data-probes="721"');
		expect(svg).toContain('data-failures="10"');
		// 10 failures 5 s apart fall in 4 columns of 15 s.
		expect(count(svg, '<rect class="tl-fail"')).toBeGreaterThanOrEqual(3);
		expect(count(svg, '<rect class="tl-fail"')).toBeLessThanOrEqual(5);
		expect(svg).toContain("connect-error, connection refused (2.50 s)");
		const d = /class="tl-line" d="([^"]+)"/.exec(svg)?.[1] ?? "";
		expect(d.match(/M/g)).toHaveLength(2);
		// Timeouts do not set the scale: the slowest success (26 ms) does, rounded up to 50 ms.
		expect(svg).toContain(">50 ms</text>");
		expect(timelineCaption(obs, { now: NOW, windowMs: HOUR })).toBe(
			"Last 1 h: 721 probes, 10 failed (1.4%), slowest success 26 ms.",
		);
	});

	it("stays bounded whatever the probe rate: at most one marker and one point per column", () => {
		// 2000 probes in the last 33 min, every other one failed.
		const obs = history(2000, 1_000, (i) => i % 2 === 0);
		const svg = timelineSvg(obs, { now: NOW, windowMs: HOUR, buckets: 120 }).value;
		expect(count(svg, '<rect class="tl-fail"')).toBeLessThanOrEqual(120);
		const d = /class="tl-line" d="([^"]+)"/.exec(svg)?.[1] ?? "";
		expect((d.match(/[ML]/g) ?? []).length).toBeLessThanOrEqual(120);
		expect(svg.length).toBeLessThan(60_000);
	});

	it("zooms a young history to what exists (at least 5 min), and ignores probes outside the window", () => {
		const young = timelineSvg(history(60, 1_000), { now: NOW, windowMs: HOUR }).value;
		expect(young).toContain(">5 min ago</text>");
		const old: ObservationRow[] = [
			...history(10, 5_000),
			{ ...history(1, 1)[0], at: NOW - 2 * HOUR, ok: false } as ObservationRow,
		];
		const svg = timelineSvg(old, { now: NOW, windowMs: HOUR }).value;
		expect(svg).toContain('data-probes="10"');
		expect(svg).toContain('data-failures="0"');
		expect(svg).toContain(">1 h ago</text>");
	});

	it("escapes probe details in the failure tooltips", () => {
		const obs = history(5, 5_000, (i) => i === 0).map((o) =>
			o.ok ? o : { ...o, detail: '<script>alert("x")</script>' },
		);
		const svg = timelineSvg(obs, { now: NOW, windowMs: HOUR }).value;
		expect(svg).not.toContain("<script");
		expect(svg).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;");
	});

	it("draws the state band in runs: a failover reads as two strips", () => {
		const obs = history(120, 5_000).map((o, i) =>
			i < 60 ? { ...o, state: "standby-active" as const, term: 1 } : o,
		);
		const svg = timelineSvg(obs, { now: NOW, windowMs: HOUR }).value;
		expect(count(svg, "tl-state st-primary-active")).toBe(1);
		expect(count(svg, "tl-state st-standby-active")).toBe(1);
	});
});
