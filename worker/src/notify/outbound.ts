// The HTTP request a formatter produces: pure data, sent by send.ts.

export interface OutboundRequest {
	readonly url: string;
	readonly headers: Readonly<Record<string, string>>;
	/** Already serialised, so a signature covers exactly the bytes sent. */
	readonly body: string;
}

export const USER_AGENT = "failover-gateway-watchdog";

export function jsonRequest(url: string, payload: unknown): OutboundRequest {
	return {
		url,
		headers: { "content-type": "application/json", "user-agent": USER_AGENT },
		body: JSON.stringify(payload),
	};
}
