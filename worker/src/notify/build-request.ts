// Picks the provider formatter for a notifier: the only place that switches on the notifier kind.
import type { Notifier } from "./config";
import { discordRequest } from "./discord";
import type { NotifyMessage } from "./message";
import { ntfyRequest } from "./ntfy";
import type { OutboundRequest } from "./outbound";
import { slackRequest } from "./slack";
import { telegramRequest } from "./telegram";
import { webhookRequest } from "./webhook";

export async function buildRequest(
	m: NotifyMessage,
	n: Notifier,
	nowMs: number,
): Promise<OutboundRequest> {
	switch (n.kind) {
		case "discord":
			return discordRequest(m, n.url);
		case "slack":
			return slackRequest(m, n.url);
		case "telegram":
			return telegramRequest(m, n);
		case "ntfy":
			return ntfyRequest(m, n);
		case "webhook":
			return webhookRequest(m, n, nowMs);
		default: {
			const never: never = n;
			// Only the kind: the rest of a notifier is secret.
			throw new Error(`unknown notifier kind ${String((never as { kind: unknown }).kind)}`);
		}
	}
}

/**
 * Every string in a notifier that must never appear in a log, a status page or an error: whole
 * URLs (webhook URLs are bearer credentials), their path segments and query values (where the
 * token lives), tokens and secrets. Short fragments are skipped so ordinary words are not mangled.
 */
export function secretsOf(n: Notifier): string[] {
	const out = new Set<string>();
	// A provider may echo a credential URL-encoded (a Telegram token's ":" as %3A) or JSON-escaped.
	const add = (v: string) => {
		out.add(v);
		out.add(encodeURIComponent(v));
		out.add(JSON.stringify(v).slice(1, -1));
	};
	const addUrl = (u: string) => {
		out.add(u);
		try {
			const url = new URL(u);
			out.add(url.href);
			out.add(url.pathname + url.search);
			for (const seg of url.pathname.split("/")) {
				add(seg);
				try {
					add(decodeURIComponent(seg));
				} catch {
					// A malformed escape stays as it is; the raw segment is already listed.
				}
			}
			for (const v of url.searchParams.values()) add(v);
		} catch {
			// Config parsing only lets valid URLs through; the raw string is covered above anyway.
		}
	};
	// Every field but the kind and the chat id is (or contains) a credential; going by field rather
	// than by kind means a future notifier cannot forget one. On a public ntfy server the topic name
	// in the URL path is the only secret, which the path segments cover.
	for (const [field, value] of Object.entries(n)) {
		if (field === "kind" || field === "chatId" || typeof value !== "string") continue;
		add(value);
		if (/^https?:\/\//i.test(value)) addUrl(value);
	}
	// Six characters: shorter path parts ("api", "bot", "v1") are not secret and common in messages.
	return [...out].filter((s) => s.length >= 6).sort((a, b) => b.length - a.length);
}

export function redact(text: string, secrets: readonly string[]): string {
	let out = text;
	for (const s of secrets) out = out.split(s).join("[redacted]");
	return out;
}
