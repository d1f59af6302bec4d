// Telegram Bot API sendMessage formatting: HTML parse mode, every value escaped, within the 4096 limit.
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
import { jsonRequest, type OutboundRequest } from "./outbound";
import { escapeHtml, fitEscaped, oneLine } from "./text";

/**
 * sendMessage text limit. Telegram counts characters after entity parsing; we bound the escaped
 * HTML source, which is never shorter, so the rendered text always fits.
 */
export const TELEGRAM_TEXT_LIMIT = 4096;

const BUDGET = {
	title: 300,
	summary: 800,
	meta: 200,
	evidenceLine: 400,
	next: 700,
	link: 400,
} as const;

const ICON: Readonly<Record<Severity, string>> = { info: "ℹ️", warning: "⚠️", critical: "🚨" };

const h = (s: string, limit: number) => fitEscaped(s, limit, escapeHtml);

export interface TelegramPayload {
	chat_id: string;
	text: string;
	parse_mode: "HTML";
	link_preview_options: { is_disabled: true };
	/** Informational events arrive silently; warnings and critical ones ring. */
	disable_notification: boolean;
}

export function telegramText(m: NotifyMessage): string {
	const e = m.event;
	const head = [
		`${ICON[e.severity]} <b>${h(oneLine(m.title), BUDGET.title)}</b>`,
		h(e.summary.trim() === "" ? HEADLINES[e.kind] : e.summary, BUDGET.summary),
		"",
		`<b>Severity:</b> ${SEVERITY_LABEL[e.severity]}`,
		`<b>When:</b> ${h(m.when, BUDGET.meta)}`,
		`<b>State:</b> ${h(m.transition, BUDGET.meta)}`,
		"",
		"<b>Evidence</b>",
	];
	const tail = ["", `<b>What to do next:</b> ${h(nextStep(m), BUDGET.next)}`];
	const href = m.dashboardUrl === undefined ? "" : escapeHtml(m.dashboardUrl);
	if (href !== "" && href.length <= BUDGET.link) {
		tail.push(`<a href="${href}">Open the status page</a>`);
	}
	const fixed = [...head, ...tail].join("\n").length + 1;
	// Evidence gets whatever room the fixed parts leave: at least ~1300 of the 4096 at worst.
	const evidence = takeLines(
		e.evidence.map(
			(ev) => `• ${WITNESS_LABEL[ev.witness]}: ${h(oneLine(sawText(ev)), BUDGET.evidenceLine)}`,
		),
		TELEGRAM_TEXT_LIMIT - fixed,
		{ sep: "\n", more: (n) => `• ${n} more; see the status page` },
	);
	return [...head, ...(evidence.length > 0 ? evidence : ["(none)"]), ...tail].join("\n");
}

export function telegramPayload(m: NotifyMessage, chatId: string): TelegramPayload {
	return {
		chat_id: chatId,
		text: telegramText(m),
		parse_mode: "HTML",
		link_preview_options: { is_disabled: true },
		disable_notification: m.event.severity === "info",
	};
}

export function telegramRequest(
	m: NotifyMessage,
	n: { token: string; chatId: string; apiBase: string },
): OutboundRequest {
	return jsonRequest(`${n.apiBase}/bot${n.token}/sendMessage`, telegramPayload(m, n.chatId));
}
