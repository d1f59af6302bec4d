// The probe timeline: observations -> an inline SVG (latency line, failure markers, state band), bounded in size.
import type { ObservationRow } from "../store";
import type { StateName } from "../types";
import { type Html, html } from "./escape";
import { formatDuration, formatMs, formatUtc } from "./format";

export interface TimelineOptions {
	now: number;
	/** How far back the chart reaches at most, ms (the page asks for the last hour). */
	windowMs: number;
	/** Shortest reach, ms: a young history is zoomed to what exists, down to this (default 5 min). */
	minWindowMs?: number;
	/** Columns the window is cut into; bounds the SVG whatever the probe rate (240 = one per 15 s over an hour). */
	buckets?: number;
}

interface Bucket {
	probes: number;
	failures: number;
	/** Slowest successful probe in the column: spikes stay visible after downsampling. */
	okMaxMs: number | null;
	state: StateName | null;
	/** The newest failure of the column, for its tooltip. */
	failure: ObservationRow | null;
}

// Drawing area, in viewBox units; the SVG scales to the page's width (on a phone it scrolls, see styles.ts).
const W = 640;
const H = 170;
const PAD = { left: 52, right: 10, top: 10, bottom: 34 };
const BAND = 6; // height of the state band under the plot
const MIN_Y_MS = 50; // a flat fast line should not look like noise magnified

export function timelineSvg(observations: readonly ObservationRow[], opts: TimelineOptions): Html {
	const n = Math.max(1, Math.min(opts.buckets ?? 240, 1000));
	const { windowMs, inWindow } = select(observations, opts);
	const start = opts.now - windowMs;
	const span = windowMs / n;
	const buckets: Bucket[] = Array.from({ length: n }, () => ({
		probes: 0,
		failures: 0,
		okMaxMs: null,
		state: null,
		failure: null,
	}));
	for (const o of inWindow) {
		const b = buckets[Math.min(n - 1, Math.floor((o.at - start) / span))] as Bucket;
		b.probes++;
		b.state = o.state;
		if (o.ok) b.okMaxMs = Math.max(b.okMaxMs ?? 0, o.ms);
		else {
			b.failures++;
			b.failure = o;
		}
	}
	const minutes = formatDuration(windowMs);
	if (inWindow.length === 0) {
		return html`<svg class="timeline timeline-empty" viewBox="0 0 ${W} ${H}" role="img" data-probes="0" data-failures="0"><title>No probes in the last ${minutes}</title><text class="tl-empty" x="${W / 2}" y="${H / 2}" text-anchor="middle">No probes in the last ${minutes}</text></svg>`;
	}

	const plotW = W - PAD.left - PAD.right;
	const plotH = H - PAD.top - PAD.bottom - BAND - 4;
	const colW = plotW / n;
	const x = (i: number) => PAD.left + i * colW;
	const slowest = Math.max(0, ...buckets.map((b) => b.okMaxMs ?? 0));
	const yMax = niceCeil(Math.max(MIN_Y_MS, slowest));
	const y = (ms: number) => PAD.top + plotH - (Math.min(ms, yMax) / yMax) * plotH;
	const failures = inWindow.filter((o) => !o.ok).length;

	// The latency line, broken where a column only failed; empty columns (sparse probes) are bridged.
	let d = "";
	let pen = false;
	buckets.forEach((b, i) => {
		if (b.okMaxMs === null) {
			if (b.failures > 0) pen = false;
			return;
		}
		d += `${pen ? "L" : "M"}${round(x(i) + colW / 2)} ${round(y(b.okMaxMs))}`;
		pen = true;
	});

	const failMarks = buckets.flatMap((b, i) =>
		b.failure === null
			? []
			: [
					html`<rect class="tl-fail" x="${round(x(i))}" y="${PAD.top}" width="${round(Math.max(colW, 2))}" height="${plotH}"><title>${failureTitle(b)}</title></rect>`,
				],
	);

	const grid = [0, yMax / 2, yMax].map(
		(v) =>
			html`<line class="tl-grid" x1="${PAD.left}" x2="${W - PAD.right}" y1="${round(y(v))}" y2="${round(y(v))}"/><text class="tl-axis" x="${PAD.left - 6}" y="${round(y(v)) + 4}" text-anchor="end">${formatMs(v)}</text>`,
	);
	const bandY = PAD.top + plotH + 4;
	const xLabels = [0, 0.5, 1].map((f) => {
		const anchor = f === 0 ? "start" : f === 1 ? "end" : "middle";
		const label = f === 1 ? "now" : `${axisLabel(windowMs * (1 - f))} ago`;
		return html`<text class="tl-axis" x="${round(PAD.left + f * plotW)}" y="${H - 8}" text-anchor="${anchor}">${label}</text>`;
	});

	return html`<svg class="timeline" viewBox="0 0 ${W} ${H}" role="img" data-probes="${inWindow.length}" data-failures="${failures}"><title>Probe timeline, last ${minutes}: ${inWindow.length} probes, ${failures} failed, slowest success ${formatMs(slowest)}</title>${grid}${stateBand(buckets, x, colW, bandY)}${failMarks}${d ? html`<path class="tl-line" d="${d}"/>` : ""}${xLabels}</svg>`;
}

/** One line under the chart: what it covers, how many probes failed, the slowest success. */
export function timelineCaption(
	observations: readonly ObservationRow[],
	opts: TimelineOptions,
): string {
	const { windowMs, inWindow } = select(observations, opts);
	if (inWindow.length === 0) return `No probes in the last ${formatDuration(windowMs)}.`;
	const failed = inWindow.filter((o) => !o.ok).length;
	const oks = inWindow.filter((o) => o.ok).map((o) => o.ms);
	const pct = Math.round((failed / inWindow.length) * 1000) / 10;
	const slowest = oks.length > 0 ? `, slowest success ${formatMs(Math.max(...oks))}` : "";
	return `Last ${formatDuration(windowMs)}: ${inWindow.length} probes, ${failed} failed (${pct}%)${slowest}.`;
}

/**
 * The window, shortened to the history there is (a fresh pair would otherwise be a sliver at "now"),
 * and the observations in it, oldest first so each column ends with its newest state.
 */
function select(
	observations: readonly ObservationRow[],
	opts: TimelineOptions,
): { windowMs: number; inWindow: ObservationRow[] } {
	const floor = Math.min(opts.minWindowMs ?? 5 * 60_000, opts.windowMs);
	let oldest = opts.now;
	for (const o of observations) if (o.at < oldest) oldest = o.at;
	const windowMs =
		observations.length === 0
			? opts.windowMs
			: Math.min(opts.windowMs, Math.max(floor, opts.now - oldest));
	const start = opts.now - windowMs;
	const inWindow = observations
		.filter((o) => o.at >= start && o.at <= opts.now)
		.sort((a, b) => a.at - b.at);
	return { windowMs, inWindow };
}

/** Runs of one state as coloured strips under the plot: a failover reads at a glance. */
function stateBand(buckets: Bucket[], x: (i: number) => number, colW: number, y: number): Html[] {
	const out: Html[] = [];
	let runStart = -1;
	let runState: StateName | null = null;
	const flush = (end: number) => {
		if (runState === null || runStart < 0) return;
		out.push(
			html`<rect class="tl-state st-${runState}" x="${round(x(runStart))}" y="${y}" width="${round((end - runStart) * colW)}" height="${BAND}"><title>${runState}</title></rect>`,
		);
	};
	buckets.forEach((b, i) => {
		// An empty column keeps the state the last probe left (probes sparser than columns).
		if (b.state === runState || (b.state === null && runState !== null)) return;
		flush(i);
		runStart = i;
		runState = b.state;
	});
	flush(buckets.length);
	return out;
}

function failureTitle(b: Bucket): string {
	const f = b.failure as ObservationRow;
	const what = [f.reason, f.status === null ? null : `HTTP ${f.status}`, f.detail]
		.filter((v) => v !== null && v !== "")
		.join(", ");
	const count = b.failures === 1 ? "1 failed probe" : `${b.failures} of ${b.probes} probes failed`;
	return `${count}, last at ${formatUtc(f.at)}: ${what} (${formatMs(f.ms)})`;
}

/** "30 min", "2.5 min", "1 h", "1.5 h": exact enough for an axis, unlike a rounded duration. */
function axisLabel(ms: number): string {
	const one = (v: number) => String(Math.round(v * 10) / 10);
	if (ms >= 90 * 60_000) return `${one(ms / 3_600_000)} h`;
	if (ms >= 60 * 60_000) return `${one(ms / 60_000)} min`.replace(/^60 min$/, "1 h");
	if (ms >= 60_000) return `${one(ms / 60_000)} min`;
	return `${one(ms / 1000)} s`;
}

/** 1, 2, 2.5 or 5 times a power of ten, at least v. */
function niceCeil(v: number): number {
	const p = 10 ** Math.floor(Math.log10(v));
	for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
	return 10 * p;
}

function round(v: number): number {
	return Math.round(v * 10) / 10;
}
