// Runs the agent's handler on a web Request and answers a web Response: for tests (the dial-out connection calls the handler itself).
// Only called, never run at import: reaching Request/Response loads undici (about 9 MiB of RSS), which
// an agent serving node:http alone never needs (agent-http.ts).
import type { AgentAnswer, AgentRequest } from "./agent-http";
import { readBodyLimited } from "./read-body";

/**
 * As hono's app.request: `input` is a path (resolved against http://localhost) or a URL; `init` as
 * for fetch; `env.incoming.socket.remoteAddress` is the source address (default "unknown").
 */
export async function webRequest(
	handle: (req: AgentRequest) => Promise<AgentAnswer>,
	input: string,
	init: RequestInit = {},
	env?: { incoming?: { socket?: { remoteAddress?: string } } },
): Promise<Response> {
	const request = new Request(new URL(input, "http://localhost"), {
		...init,
		// A stream body needs this (Node's fetch refuses one without it).
		...(init.body instanceof ReadableStream ? { duplex: "half" } : {}),
	} as RequestInit);
	const headers: Record<string, string> = {};
	request.headers.forEach((value, name) => {
		headers[name] = value;
	});
	const answer = await handle({
		method: request.method,
		path: new URL(request.url).pathname,
		headers,
		source: env?.incoming?.socket?.remoteAddress ?? "unknown",
		readBody: (limit) => readBodyLimited(request, limit),
	});
	const nullBody = request.method === "HEAD" || answer.status === 204 || answer.status === 304;
	return new Response(nullBody ? null : (answer.body as Uint8Array<ArrayBuffer>), {
		status: answer.status,
		headers: answer.headers,
	});
}
