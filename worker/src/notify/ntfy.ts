// ntfy formatting: plain-text body (no Markdown header, so nothing renders), title/priority/tags/click headers.
import type { Severity } from "../types";
import {
	HEADLINES,
	type NotifyMessage,
	nextStep,
	SEVERITY_LABEL,
	sawText,
	takeLines,
	WITNESS_LABEL,
} from "./message";
import { type OutboundRequest, USER_AGENT } from "./outbound";
import { fit, fitBytes, oneLine, stripControl, utf8Length } from "./text";

/** ntfy's default message size limit; a larger body would be turned into an attachment or refused. */
export const NTFY_BODY_LIMIT_BYTES = 4096;

/** Header values are kept short: ntfy shows the title on one line and proxies cap header size. */
const TITLE_LIMIT = 200;
const EVIDENCE_LINE = 400;

/** ntfy priorities: 3 default, 4 high, 5 max (urgent, bypasses do-not-disturb on Android). */
const PRIORITY: Readonly<Record<Severity, string>> = { info: "3", warning: "4", critical: "5" };

/** Emoji shortcodes ntfy renders in front of the title. */
const TAG: Readonly<Record<Severity, string>> = {
	info: "information_source",
	warning: "warning",
	critical: "rotating_light",
};

/**
 * Header values must be ISO-8859-1 without line breaks; ntfy decodes RFC 2047 encoded words, so
 * anything outside printable ASCII is sent as =?UTF-8?B?...?=.
 */
export function headerValue(s: string): string {
	const one = oneLine(s);
	if (/^[\x20-\x7e]*$/.test(one)) return one;
	const bytes = new TextEncoder().encode(one);
	let bin = "";
	for (const b of bytes) bin += String.fromCharCode(b);
	return `=?UTF-8?B?${btoa(bin)}?=`;
}

export function ntfyBody(m: NotifyMessage): string {
	const e = m.event;
	const head = [
		stripControl(e.summary.trim() === "" ? HEADLINES[e.kind] : fit(e.summary, 800)),
		"",
		`Severity: ${SEVERITY_LABEL[e.severity]}`,
		`When: ${m.when}`,
		`State: ${fit(m.transition, 200)}`,
		"",
		"Evidence:",
	];
	const tail = ["", `What to do next: ${stripControl(fit(nextStep(m), 700))}`];
	const fixed = utf8Length([...head, ...tail].join("\n")) + 1;
	const evidence = takeLines(
		e.evidence.map(
			(ev) => `- ${WITNESS_LABEL[ev.witness]}: ${fit(oneLine(sawText(ev)), EVIDENCE_LINE)}`,
		),
		NTFY_BODY_LIMIT_BYTES - fixed,
		{ sep: "\n", more: (n) => `- ${n} more; see the status page`, measure: utf8Length },
	);
	// The byte cap is already respected by construction; fitBytes is the last guard, not the plan.
	return fitBytes(
		[...head, ...(evidence.length > 0 ? evidence : ["(none)"]), ...tail].join("\n"),
		NTFY_BODY_LIMIT_BYTES,
	);
}

export function ntfyRequest(m: NotifyMessage, n: { url: string; token?: string }): OutboundRequest {
	const headers: Record<string, string> = {
		"content-type": "text/plain; charset=utf-8",
		"user-agent": USER_AGENT,
		title: headerValue(fit(m.title, TITLE_LIMIT)),
		priority: PRIORITY[m.event.severity],
		// Tags are comma-separated; the event kind is [a-z-] so it cannot add a tag of its own.
		tags: `${TAG[m.event.severity]},${m.event.kind}`,
	};
	if (m.dashboardUrl !== undefined) headers.click = headerValue(m.dashboardUrl);
	if (n.token !== undefined) headers.authorization = `Bearer ${n.token}`;
	return { url: n.url, headers, body: ntfyBody(m) };
}
