// Time elements the script keeps current: durations that count up, instants shown in the reader's zone.
import { type Html, html } from "./escape";
import { formatDuration, formatUtc } from "./format";

/** A duration since `at` (ms since epoch); the script recounts it every second. */
export function ago(at: number, now: number, suffix: boolean): Html {
	return html`<span data-since="${at}" data-suffix="${suffix ? " ago" : ""}" title="${formatUtc(at)}">${formatDuration(now - at)}${suffix ? " ago" : ""}</span>`;
}

/** An instant, in UTC until the script rewrites it in local time. */
export function instant(at: number): Html {
	return html`<time data-at="${at}" datetime="${new Date(at).toISOString()}">${formatUtc(at)}</time>`;
}
