// The agent's HTTP exchange without a transport: the request its handler reads and the answer it returns.
import type { BodyRead } from "./read-body";

/**
 * One request as the agent's handler sees it, whichever way it arrived: node:http (server.ts), a
 * web Request (web-request.ts: tests) or a dial-out request frame (dial-out.ts). Why not the web
 * Request itself: on Node, reaching Request/Response/Headers loads undici (with http2, tls, zlib and web streams),
 * about 9 MiB of RSS an idle agent serving node:http never needs (docs/agent.md, "Measured").
 */
export interface AgentRequest {
	/** Upper-case, as sent (HEAD is answered as GET without a body, as HTTP says). */
	method: string;
	/** The request target's path as sent: not percent-decoded, without the query. */
	path: string;
	/** Headers by lower-case name; repeated headers joined with ", " (as node:http and Headers do). */
	headers: Readonly<Record<string, string | undefined>>;
	/** The peer's address, for the auth-failure limiter ("unknown" when the transport has none). */
	source: string;
	/**
	 * Reads the body, stopping as soon as it exceeds `limit` bytes (Content-Length is not trusted).
	 * Called at most once.
	 */
	readBody(limit: number): Promise<BodyRead>;
}

/** An answer: a status, headers by lower-case name, and the body bytes (JSON for every route). */
export interface AgentAnswer {
	status: number;
	headers: Record<string, string>;
	body: Uint8Array;
}

const encoder = new TextEncoder();

/** A JSON answer with content-type application/json (what every agent route answers). */
export function jsonAnswer(
	value: unknown,
	status = 200,
	headers: Record<string, string> = {},
): AgentAnswer {
	return {
		status,
		headers: { "content-type": "application/json", ...headers },
		body: encoder.encode(JSON.stringify(value)),
	};
}
