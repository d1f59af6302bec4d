// Binds an agent to a TCP port with node:http, with timeouts and a connection cap of its own, and shuts it down cleanly.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { type Agent, type AgentIo, createAgent } from "./agent";
import type { AgentAnswer, AgentRequest } from "./agent-http";
import type { AgentConfig } from "./config";
import { readIncomingLimited } from "./read-body";

export interface RunningAgent {
	agent: Agent;
	host: string;
	port: number;
	close(): Promise<void>;
}

export type ListenResult = { ok: true; running: RunningAgent } | { ok: false; message: string };

/*
 * Limits of the HTTP server itself, so a peer that holds connections open cannot starve the
 * watchdog (issue 12, finding 6). The agent's callers are one Worker and, rarely, an operator's
 * `failover-agent call`: each sends a request of a few hundred bytes in one go.
 */
/** All request headers must arrive within this (a header trickle, "slowloris", is cut off). */
export const HEADERS_TIMEOUT_MS = 5_000;
/** The whole request, headers and body (at most 16 KiB), must arrive within this. */
export const REQUEST_TIMEOUT_MS = 10_000;
/**
 * A connection with no request in progress is closed after this long without a byte: before its
 * first request and between requests. A request in progress may stay quiet longer (a command waits
 * up to MAX_WAIT_MS before answering).
 */
export const IDLE_TIMEOUT_MS = 5_000;
/**
 * Open connections at most; more are closed on accept. The watchdog uses a few per tick (status,
 * a command, the peer's probe); 64 leaves room for bursts and retries while bounding sockets.
 */
export const MAX_CONNECTIONS = 64;
/** How often Node enforces the header and request timeouts (its default, 30 s, would let a trickle live 35 s). */
const TIMEOUT_CHECK_INTERVAL_MS = 1_000;
/** Auth headers are under 300 bytes; Node's default allows 16 KiB of headers per request. */
const MAX_HEADER_BYTES = 8 * 1024;

export async function listenAgent(config: AgentConfig, io: AgentIo): Promise<ListenResult> {
	const agent = await createAgent(config, io);
	// node:http directly, not @hono/node-server: that adapter builds web Request/Response objects,
	// which load undici, http2, tls and zlib: about 9 MiB of an idle agent's RSS (docs/agent.md).
	const server = createServer(
		{
			headersTimeout: HEADERS_TIMEOUT_MS,
			requestTimeout: REQUEST_TIMEOUT_MS,
			keepAliveTimeout: IDLE_TIMEOUT_MS,
			connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS,
			maxHeaderSize: MAX_HEADER_BYTES,
		},
		(req, res) => void serveOne(agent, req, res),
	);
	server.listen(config.listen.port, config.listen.host);
	guardConnections(server);
	const listening = await new Promise<
		{ ok: true; address: AddressInfo } | { ok: false; error: NodeJS.ErrnoException }
	>((resolve) => {
		server.once("listening", () => resolve({ ok: true, address: server.address() as AddressInfo }));
		server.once("error", (error: NodeJS.ErrnoException) => resolve({ ok: false, error }));
	});
	if (!listening.ok) {
		await agent.close();
		const { code, message } = listening.error;
		const where = `${config.listen.host}:${config.listen.port}`;
		const hint =
			code === "EADDRINUSE"
				? `${where} is already in use (another agent? set listen.port)`
				: code === "EACCES"
					? `not allowed to listen on ${where}`
					: code === "EADDRNOTAVAIL" || code === "ENOTFOUND"
						? `listen.host ${config.listen.host} is not an address of this machine`
						: `cannot listen on ${where}: ${message}`;
		return { ok: false, message: hint };
	}
	const { port } = listening.address;
	let closing: Promise<void> | null = null;
	return {
		ok: true,
		running: {
			agent,
			host: config.listen.host,
			port,
			close() {
				closing ??= (async () => {
					await new Promise<void>((resolve) => {
						server.close(() => resolve());
						// Keep-alive connections would hold close() open; nothing in flight matters more than exiting.
						(server as { closeAllConnections?: () => void }).closeAllConnections?.();
					});
					await agent.close();
				})();
				return closing;
			},
		},
	};
}

/** One request: node:http's request to the agent's handler, and its answer back. */
async function serveOne(agent: Agent, req: IncomingMessage, res: ServerResponse): Promise<void> {
	let answer: AgentAnswer;
	try {
		answer = await agent.app.handle(toAgentRequest(req));
	} catch {
		// handle() answers every error itself; this is the last line, so the socket is never left hanging.
		answer = { status: 500, headers: {}, body: new Uint8Array(0) };
	}
	if (res.destroyed) return;
	const headers: Record<string, string | number> = { ...answer.headers };
	// A body not read to its end (refused before reading, or over the limit): close the connection
	// after answering, rather than read the rest to keep it alive.
	if (!req.complete) headers.connection = "close";
	if (req.method !== "HEAD") headers["content-length"] = answer.body.byteLength;
	res.writeHead(answer.status, headers);
	res.end(req.method === "HEAD" ? undefined : answer.body);
}

/** The request target's path, without its query; an absolute-form target ("http://h/p") gives its path. */
function targetPath(url: string): string {
	const path = url.startsWith("/") ? url : URL.canParse(url) ? new URL(url).pathname : url;
	const query = path.indexOf("?");
	return query < 0 ? path : path.slice(0, query);
}

function toAgentRequest(req: IncomingMessage): AgentRequest {
	const headers: Record<string, string> = {};
	for (const [name, value] of Object.entries(req.headers)) {
		if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(", ") : value;
	}
	return {
		method: req.method ?? "GET",
		path: targetPath(req.url ?? "/"),
		headers,
		source: req.socket.remoteAddress ?? "unknown",
		readBody: (limit) => readIncomingLimited(req, limit),
	};
}

/** The slice of node:http's Server used to cap and time out connections. */
interface GuardedServer {
	maxConnections: number;
	on(event: "request", listener: (req: IncomingMessage, res: ServerResponse) => void): void;
	setTimeout(ms: number, onTimeout: (socket: Socket) => void): void;
}

/**
 * Caps open connections and closes idle ones. Node's own socket timeout would also cut a request
 * that is legitimately quiet (a command waiting for its action), so a timed-out socket is only
 * closed when no request on it is in progress.
 */
function guardConnections(server: GuardedServer): void {
	server.maxConnections = MAX_CONNECTIONS;
	const busy = new WeakMap<Socket, number>();
	server.on("request", (req, res) => {
		const socket = req.socket;
		busy.set(socket, (busy.get(socket) ?? 0) + 1);
		res.once("close", () => {
			const n = (busy.get(socket) ?? 1) - 1;
			if (n <= 0) busy.delete(socket);
			else busy.set(socket, n);
		});
	});
	server.setTimeout(IDLE_TIMEOUT_MS, (socket) => {
		if (!busy.has(socket)) socket.destroy();
	});
}
