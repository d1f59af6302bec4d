// Discord webhook formatting: one embed, markdown escaped, mentions disabled, every Discord length limit respected.
import type { Severity } from "../types";
import {
	HEADLINES,
	type NotifyMessage,
	nextStep,
	SEVERITY_LABEL,
	sawText,
	WITNESS_LABEL,
} from "./message";
import { jsonRequest, type OutboundRequest } from "./outbound";
import { escapeDiscord, fitEscaped, oneLine } from "./text";

/** Discord's documented limits (Execute Webhook / Embed Limits). */
export const DISCORD_LIMITS = {
	content: 2000,
	title: 256,
	description: 4096,
	fields: 25,
	fieldName: 256,
	fieldValue: 1024,
	footer: 2048,
	/** Sum of title, description, field names and values, footer and author in all embeds. */
	total: 6000,
} as const;

/**
 * Our own budgets, below the limits so the sum stays under `total` even at the worst case:
 * 256 + 1200 + 10 * (13 + 280) + 40 + 800 + 2 * 120 + 16 = 5482.
 */
const BUDGET = {
	description: 1200,
	evidenceItems: 10,
	evidenceValue: 280,
	next: 800,
	meta: 120,
} as const;

const COLOR: Readonly<Record<Severity, number>> = {
	info: 0x3498db,
	warning: 0xf1c40f,
	critical: 0xe74c3c,
};

export interface DiscordField {
	name: string;
	value: string;
	inline?: boolean;
}

export interface DiscordPayload {
	username: string;
	content: string;
	allowed_mentions: { parse: never[] };
	embeds: [
		{
			title: string;
			description?: string;
			url?: string;
			color: number;
			timestamp: string;
			fields: DiscordField[];
			footer: { text: string };
		},
	];
}

const esc = (s: string, limit: number) => fitEscaped(s, limit, escapeDiscord);

export function discordPayload(m: NotifyMessage): DiscordPayload {
	const e = m.event;
	const shown = e.evidence.slice(0, BUDGET.evidenceItems);
	const fields: DiscordField[] = shown.map((ev) => ({
		name: WITNESS_LABEL[ev.witness],
		value: esc(sawText(ev), BUDGET.evidenceValue),
	}));
	const hidden = e.evidence.length - shown.length;
	if (hidden > 0) {
		fields.push({ name: "More evidence", value: `${hidden} more; see the status page` });
	}
	fields.push({ name: "What to do next", value: esc(nextStep(m), BUDGET.next) });
	fields.push({ name: "When", value: esc(m.when, BUDGET.meta), inline: true });
	fields.push({ name: "State", value: esc(m.transition, BUDGET.meta), inline: true });
	const summary = e.summary.trim();
	return {
		username: "failover-gateway",
		// Plain text too, so a phone notification shows more than "sent an embed".
		content: esc(
			oneLine(`${SEVERITY_LABEL[e.severity]} ${m.pair}: ${HEADLINES[e.kind]}`),
			DISCORD_LIMITS.title,
		),
		allowed_mentions: { parse: [] },
		embeds: [
			{
				title: esc(oneLine(m.title), DISCORD_LIMITS.title),
				...(summary === "" ? {} : { description: esc(summary, BUDGET.description) }),
				...(m.dashboardUrl === undefined ? {} : { url: m.dashboardUrl }),
				color: COLOR[e.severity],
				timestamp: m.when,
				fields,
				footer: { text: "failover-gateway watchdog" },
			},
		],
	};
}

/** Characters Discord counts against the 6000 total. */
export function discordEmbedLength(p: DiscordPayload): number {
	const [embed] = p.embeds;
	return (
		embed.title.length +
		(embed.description?.length ?? 0) +
		embed.footer.text.length +
		embed.fields.reduce((n, f) => n + f.name.length + f.value.length, 0)
	);
}

export function discordRequest(m: NotifyMessage, url: string): OutboundRequest {
	return jsonRequest(url, discordPayload(m));
}
