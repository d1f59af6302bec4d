// Generic JSON webhook: the PairEvent itself plus pair, payload version and id, signed with HMAC-SHA256.
import type { PairEvent } from "../types";
import type { NotifyMessage } from "./message";
import { jsonRequest, type OutboundRequest } from "./outbound";
import { signWebhook } from "./webhook-signature";

/** Bumped on any incompatible change to the payload shape, so receivers can branch on it. */
export const WEBHOOK_PAYLOAD_VERSION = 1;

export interface WebhookPayload {
	version: typeof WEBHOOK_PAYLOAD_VERSION;
	/** Same for every retry of this event: receivers drop repeats by it. */
	id: string;
	pair: string;
	title: string;
	/** event.at as ISO 8601 UTC. */
	when: string;
	dashboardUrl?: string;
	event: PairEvent;
}

export function webhookPayload(m: NotifyMessage): WebhookPayload {
	return {
		version: WEBHOOK_PAYLOAD_VERSION,
		id: m.id,
		pair: m.pair,
		title: m.title,
		when: m.when,
		...(m.dashboardUrl === undefined ? {} : { dashboardUrl: m.dashboardUrl }),
		event: m.event,
	};
}

/** Signed per attempt (fresh timestamp), so a retry after a long Retry-After is still inside the receiver's window. */
export async function webhookRequest(
	m: NotifyMessage,
	n: { url: string; secret: string },
	nowMs: number,
): Promise<OutboundRequest> {
	const base = jsonRequest(n.url, webhookPayload(m));
	const sig = await signWebhook(n.secret, base.body, Math.floor(nowMs / 1000));
	return { ...base, headers: { ...base.headers, ...sig } };
}
