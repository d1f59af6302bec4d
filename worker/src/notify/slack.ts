// Slack incoming-webhook formatting: fallback text plus Block Kit blocks; untrusted text only in plain_text, &<> escaped.
import {
	HEADLINES,
	type NotifyMessage,
	nextStep,
	SEVERITY_LABEL,
	sawText,
	takeLines,
	WITNESS_LABEL,
} from "./message";
import { jsonRequest, type OutboundRequest } from "./outbound";
import { escapeSlack, fitEscaped, oneLine } from "./text";

/** Slack Block Kit limits (header text 150, section text 3000, field 2000, context element 3000). */
export const SLACK_LIMITS = {
	header: 150,
	section: 3000,
	field: 2000,
	/** Slack truncates the top-level text beyond 40,000; a notification shows far less. */
	text: 3000,
} as const;

const EVIDENCE_LINE = 500;

/**
 * plain_text never renders mrkdwn, links or mentions, so pair names and probe details cannot
 * format or ping anyone; &, < and > are still escaped because Slack treats them as control characters
 * in every text field.
 */
function plain(s: string, limit: number): { type: "plain_text"; text: string; emoji: false } {
	return { type: "plain_text", text: fitEscaped(s, limit, escapeSlack), emoji: false };
}

/** `<url|label>` breaks on |, < and >; percent-encoding keeps the link intact and inert. */
function slackLink(url: string, label: string): string {
	const safe = url.replace(/[|<>]/g, (c) => encodeURIComponent(c)).replace(/&/g, "&amp;");
	return `<${safe}|${label}>`;
}

export function slackPayload(m: NotifyMessage): { text: string; blocks: unknown[] } {
	const e = m.event;
	const evidence = takeLines(
		e.evidence.map((ev) =>
			fitEscaped(
				`• ${WITNESS_LABEL[ev.witness]}: ${oneLine(sawText(ev))}`,
				EVIDENCE_LINE,
				escapeSlack,
			),
		),
		SLACK_LIMITS.section - "Evidence".length - 1,
		{ sep: "\n", more: (n) => `• ${n} more; see the status page` },
	);
	const blocks: unknown[] = [
		{ type: "header", text: plain(oneLine(m.title), SLACK_LIMITS.header) },
		{
			type: "section",
			text: plain(e.summary.trim() === "" ? HEADLINES[e.kind] : e.summary, SLACK_LIMITS.section),
		},
		{
			type: "section",
			fields: [
				plain(`Severity: ${SEVERITY_LABEL[e.severity]}`, SLACK_LIMITS.field),
				plain(`When: ${m.when}`, SLACK_LIMITS.field),
				plain(`State: ${m.transition}`, SLACK_LIMITS.field),
			],
		},
		{
			type: "section",
			// Lines were escaped one by one above; join them, not re-escape.
			text: {
				type: "plain_text",
				text: ["Evidence", ...(evidence.length > 0 ? evidence : ["(none)"])].join("\n"),
				emoji: false,
			},
		},
		{ type: "section", text: plain(`What to do next: ${nextStep(m)}`, SLACK_LIMITS.section) },
	];
	if (m.dashboardUrl !== undefined && m.dashboardUrl.length <= 2000) {
		blocks.push({
			type: "context",
			elements: [{ type: "mrkdwn", text: slackLink(m.dashboardUrl, "Open the status page") }],
		});
	}
	return {
		text: fitEscaped(
			oneLine(`${SEVERITY_LABEL[e.severity]} ${m.title}: ${e.summary}`),
			SLACK_LIMITS.text,
			escapeSlack,
		),
		blocks,
	};
}

export function slackRequest(m: NotifyMessage, url: string): OutboundRequest {
	return jsonRequest(url, slackPayload(m));
}
