// The Durable Object's side of the dial-out transport: accepts agents' WebSockets (hibernation API), authenticates them, keeps their newest status, and carries signed requests.
import {
	AgentFrameSchema,
	CLOSE,
	closeReason,
	HELLO_TIMEOUT_MS,
	newChallenge,
	parseFrame,
	type StatusResponse,
	silentCloseMs,
	verifyHello,
} from "../../protocol";
import type { ConnectionStats, RefusalKind, Side } from "./types";

export type { ConnectionStats, RefusalKind };

/** What the object stores with each socket (serializeAttachment: survives hibernation, max 2 KiB). */
interface Attachment {
	pair: string;
	side: Side;
	challenge: string;
	connectedAt: number;
	/** Set when the hello verified. */
	authedAt: number | null;
}

/** A pushed status as received, with the Worker's clock when it arrived. */
interface PushedStatus {
	status: StatusResponse;
	receivedAt: number;
}

export interface AgentSocketsDeps {
	clock: () => number;
	/** The agent public key configured for this pair and side, or why there is none. */
	publicKey(pair: string, side: Side): Promise<CryptoKey | string>;
	/** How often the agent should push its status, ms (half the pair's probe interval). */
	heartbeatMs(pair: string): number;
	log?: (message: string) => void;
}

/** Answer to a request frame, or why there is none. */
export type SocketAnswer =
	| { ok: true; status: number; headers: Record<string, string>; body: string }
	| { ok: false; reason: string };

// Token bucket per socket: an honest agent sends a status every heartbeat, one on each change (at most
// one per 250 ms) and one response per request. A burst of 20 and 8 frames a heartbeat cover that
// with room; beyond it frames are dropped, and a socket that keeps flooding is closed.
const BUCKET_SIZE = 20;
const REFILL_PER_HEARTBEAT = 8;
const FLOOD_CLOSE_AFTER = 200;

interface Bucket {
	tokens: number;
	at: number;
	droppedInRow: number;
}

function tagOf(pair: string, side: Side): string {
	return `${pair}/${side}`;
}

function emptyStats(): ConnectionStats {
	return {
		connected: false,
		since: null,
		lastFrameAt: null,
		silentMs: null,
		statusAgeMs: null,
		frames: 0,
		dropped: 0,
		refused: 0,
		refusals: {},
		lastRefusal: null,
		skewMs: null,
		lastClose: null,
		agent: null,
	};
}

/**
 * Owns every agent socket of one Durable Object. Sockets survive hibernation (the runtime keeps them,
 * with their attachment); the newest status, the buckets and the pending requests are memory only, so
 * after an eviction a side looks silent until its next heartbeat, which the tick's hysteresis absorbs.
 */
export class AgentSockets {
	private readonly statuses = new Map<string, PushedStatus>();
	private readonly stats = new Map<string, ConnectionStats>();
	private readonly buckets = new WeakMap<WebSocket, Bucket>();
	/** When each socket's newest frame arrived (Worker clock, ms); memory only, restarted at a wake. */
	private readonly lastFrame = new WeakMap<WebSocket, number>();
	private readonly pending = new Map<number, { tag: string; resolve: (a: SocketAnswer) => void }>();
	private readonly waiters = new Map<string, Set<() => void>>();
	private nextId = 1;

	constructor(
		private readonly ctx: DurableObjectState,
		private readonly deps: AgentSocketsDeps,
	) {}

	/** Accepts an upgrade for `pair`/`side` (already checked against the config by the caller). */
	accept(pair: string, side: Side): Response {
		const { 0: client, 1: server } = new WebSocketPair();
		const attachment: Attachment = {
			pair,
			side,
			challenge: newChallenge(),
			connectedAt: this.deps.clock(),
			authedAt: null,
		};
		this.ctx.acceptWebSocket(server, [tagOf(pair, side)]);
		server.serializeAttachment(attachment);
		server.send(
			JSON.stringify({
				t: "challenge",
				challenge: attachment.challenge,
				serverTime: attachment.connectedAt,
			}),
		);
		return new Response(null, { status: 101, webSocket: client });
	}

	/** webSocketMessage: every frame from an agent passes here. Never throws; a bad frame closes the socket. */
	async onMessage(ws: WebSocket, data: string | ArrayBuffer): Promise<void> {
		try {
			await this.handle(ws, data);
		} catch (e) {
			// A bug, not bad input (that is refused above as a value): counted as its own kind, so a test or
			// an operator sees it, and the socket is closed rather than left in an unknown state.
			const att = ws.deserializeAttachment() as Attachment | null;
			this.refuse(
				ws,
				att ? tagOf(att.pair, att.side) : null,
				"internal error",
				CLOSE.internal,
				`internal error: ${e instanceof Error ? e.message : String(e)}`,
			);
		}
	}

	private async handle(ws: WebSocket, data: string | ArrayBuffer): Promise<void> {
		const att = ws.deserializeAttachment() as Attachment | null;
		if (!att) return this.refuse(ws, null, null, CLOSE.malformed, "socket without attachment");
		const tag = tagOf(att.pair, att.side);
		const stats = this.statsOf(tag);
		stats.frames += 1;
		stats.lastFrameAt = this.deps.clock();
		this.lastFrame.set(ws, stats.lastFrameAt);
		if (!this.admit(ws, att, stats)) return;
		const parsed = parseFrame(AgentFrameSchema, data);
		if (!parsed.ok) return this.refuse(ws, tag, parsed.kind, parsed.code, parsed.message);
		const frame = parsed.frame;
		if (att.authedAt === null) {
			if (frame.t !== "hello") {
				return this.refuse(
					ws,
					tag,
					"before hello",
					CLOSE.malformed,
					`${frame.t} frame before hello`,
				);
			}
			// Shown even when the hello is refused: "clock skew" is then explained by the figure.
			stats.skewMs = frame.timestamp - this.deps.clock();
			const key = await this.deps.publicKey(att.pair, att.side);
			if (typeof key === "string")
				return this.refuse(ws, tag, "not configured", CLOSE.forbidden, key);
			const verdict = await verifyHello({
				hello: frame,
				challenge: att.challenge,
				pair: att.pair,
				side: att.side,
				publicKey: key,
				now: this.deps.clock(),
			});
			if (!verdict.ok) return this.refuse(ws, tag, verdict.kind, verdict.code, verdict.message);
			const now = this.deps.clock();
			// A second connection for the same pair and side replaces the first (an agent restarted, or
			// reconnected before the old socket timed out).
			for (const other of this.ctx.getWebSockets(tag)) {
				if (other === ws) continue;
				try {
					other.close(CLOSE.replaced, "replaced by a newer connection of the same agent");
				} catch {
					// Already closing.
				}
			}
			ws.serializeAttachment({ ...att, authedAt: now } satisfies Attachment);
			stats.connected = true;
			stats.since = now;
			ws.send(
				JSON.stringify({
					t: "welcome",
					pair: att.pair,
					side: att.side,
					heartbeatMs: this.deps.heartbeatMs(att.pair),
					serverTime: now,
				}),
			);
			this.deps.log?.(`agent ${tag} connected`);
			for (const wake of this.waiters.get(tag) ?? []) wake();
			this.waiters.delete(tag);
			return;
		}
		switch (frame.t) {
			case "hello":
				return this.refuse(
					ws,
					tag,
					"second hello",
					CLOSE.malformed,
					"second hello on an authenticated socket",
				);
			case "status": {
				// The agent's clock far off is shown (the status carries `now`), never trusted for ordering.
				const receivedAt = this.deps.clock();
				this.statuses.set(tag, { status: frame.status, receivedAt });
				stats.skewMs = frame.status.now - receivedAt;
				return;
			}
			case "response": {
				const p = this.pending.get(frame.id);
				if (!p || p.tag !== tag) return; // Late, or not ours: ignored, never an error.
				this.pending.delete(frame.id);
				p.resolve({ ok: true, status: frame.status, headers: frame.headers, body: frame.body });
				return;
			}
			default:
				frame satisfies never;
		}
	}

	/** webSocketClose / webSocketError: forget the socket's in-flight requests. */
	onClose(ws: WebSocket, code: number, reason: string): void {
		const att = ws.deserializeAttachment() as Attachment | null;
		if (!att) return;
		const tag = tagOf(att.pair, att.side);
		const stats = this.statsOf(tag);
		if (att.authedAt !== null && this.authed(tag).length === 0) stats.connected = false;
		stats.lastClose = `${code}${reason ? ` ${reason}` : ""}`;
		for (const [id, p] of this.pending) {
			if (p.tag === tag && this.authed(tag).length === 0) {
				this.pending.delete(id);
				p.resolve({ ok: false, reason: `the agent's connection closed (${stats.lastClose})` });
			}
		}
	}

	/** The newest status this side pushed, if it arrived within `maxAgeMs`. */
	latestStatus(
		pair: string,
		side: Side,
		maxAgeMs: number,
	): { status: StatusResponse; ageMs: number } | undefined {
		const s = this.statuses.get(tagOf(pair, side));
		if (!s) return undefined;
		// The Worker's clock measures the age: the agent's own may be off.
		const ageMs = Math.max(0, this.deps.clock() - s.receivedAt);
		return ageMs > maxAgeMs ? undefined : { status: s.status, ageMs };
	}

	/** This side's connection facts (a copy), with the silence and status ages as of now. */
	connection(pair: string, side: Side): ConnectionStats {
		const tag = tagOf(pair, side);
		const own = this.statsOf(tag);
		const now = this.deps.clock();
		const pushed = this.statuses.get(tag);
		return {
			...own,
			refusals: { ...own.refusals },
			connected: this.authed(tag).length > 0,
			silentMs: own.lastFrameAt === null ? null : Math.max(0, now - own.lastFrameAt),
			statusAgeMs: pushed ? Math.max(0, now - pushed.receivedAt) : null,
			agent: pushed?.status.dialOut ?? null,
		};
	}

	/**
	 * Sends a signed request envelope to the agent and waits for its response frame, or `signal`. An agent
	 * that is not connected is waited for (within the signal), as an HTTP call would wait on a slow network.
	 */
	async request(
		pair: string,
		side: Side,
		envelope: {
			method: "GET" | "POST";
			path: string;
			headers: Record<string, string>;
			body: string | null;
		},
		signal: AbortSignal,
	): Promise<SocketAnswer> {
		const tag = tagOf(pair, side);
		let ws = this.authed(tag)[0];
		if (!ws) {
			await this.waitForAgent(tag, signal);
			ws = this.authed(tag)[0];
			if (!ws) return { ok: false, reason: `the ${side} agent is not connected (dial-out)` };
		}
		const id = this.nextId++;
		return new Promise<SocketAnswer>((resolve) => {
			const done = (a: SocketAnswer) => {
				signal.removeEventListener("abort", onAbort);
				resolve(a);
			};
			const onAbort = () => {
				this.pending.delete(id);
				done({ ok: false, reason: "no answer over the agent's connection before the deadline" });
			};
			if (signal.aborted) return onAbort();
			signal.addEventListener("abort", onAbort, { once: true });
			this.pending.set(id, { tag, resolve: done });
			try {
				ws.send(JSON.stringify({ t: "request", id, ...envelope }));
			} catch (e) {
				this.pending.delete(id);
				done({ ok: false, reason: `send failed: ${(e as Error).message}` });
			}
		});
	}

	/**
	 * A `fetch` that carries a request over the agent's socket: the signed HTTP client runs unchanged on
	 * top of it (signing, retries, answer parsing), so both transports share one envelope.
	 */
	fetchFor(pair: string, side: Side): typeof fetch {
		return (async (input: RequestInfo | URL, init?: RequestInit) => {
			const req = new Request(input, init);
			const headers: Record<string, string> = {};
			req.headers.forEach((v, k) => {
				if (k.startsWith("x-fg-") || k === "content-type") headers[k] = v;
			});
			const method = req.method === "POST" ? "POST" : "GET";
			const body = method === "POST" ? await req.text() : null;
			const signal = init?.signal ?? AbortSignal.timeout(30_000);
			const a = await this.request(
				pair,
				side,
				{ method, path: new URL(req.url).pathname, headers, body },
				signal,
			);
			if (!a.ok) throw new TypeError(a.reason);
			return new Response(a.body, { status: a.status, headers: a.headers });
		}) as typeof fetch;
	}

	/** Sends each authenticated socket of `pair` a tick frame without a lease: liveness only. */
	tick(pair: string): void {
		for (const side of ["primary", "standby"] as const) this.sendTick(pair, side, null);
	}

	/** Sends `side` of `pair` a tick frame carrying its signed lease; false when it is not connected. */
	sendLease(pair: string, side: Side, lease: string): boolean {
		return this.sendTick(pair, side, lease);
	}

	private sendTick(pair: string, side: Side, lease: string | null): boolean {
		const now = this.deps.clock();
		let sent = false;
		for (const ws of this.authed(tagOf(pair, side))) {
			try {
				ws.send(JSON.stringify({ t: "tick", serverTime: now, lease }));
				sent = true;
			} catch {
				// Closing: the close handler cleans up.
			}
		}
		return sent;
	}

	/**
	 * Closes sockets that connected but never said hello, and authenticated ones silent for
	 * silentCloseMs (no timers: called from each alarm).
	 */
	sweep(): void {
		const now = this.deps.clock();
		for (const ws of this.ctx.getWebSockets()) {
			const att = ws.deserializeAttachment() as Attachment | null;
			if (!att) continue;
			const tag = tagOf(att.pair, att.side);
			if (att.authedAt === null) {
				if (now - att.connectedAt > HELLO_TIMEOUT_MS) {
					this.refuse(
						ws,
						tag,
						"hello timeout",
						CLOSE.helloTimeout,
						`no hello within ${HELLO_TIMEOUT_MS / 1000} s`,
					);
				}
				continue;
			}
			// After a wake the map is empty: the silence is counted from now, never from before it.
			const last = this.lastFrame.get(ws) ?? now;
			this.lastFrame.set(ws, last);
			const limit = silentCloseMs(this.deps.heartbeatMs(att.pair));
			if (ws.readyState === WebSocket.OPEN && now - last > limit) {
				this.refuse(
					ws,
					tag,
					"silent",
					CLOSE.silent,
					`no frame for ${Math.round((now - last) / 1000)} s (limit ${limit / 1000} s): redial`,
				);
			}
		}
	}

	private authed(tag: string): WebSocket[] {
		return this.ctx.getWebSockets(tag).filter((ws) => {
			const att = ws.deserializeAttachment() as Attachment | null;
			return att !== null && att.authedAt !== null && ws.readyState === WebSocket.OPEN;
		});
	}

	private waitForAgent(tag: string, signal: AbortSignal): Promise<void> {
		return new Promise<void>((resolve) => {
			if (signal.aborted) return resolve();
			const set = this.waiters.get(tag) ?? new Set();
			const wake = () => {
				signal.removeEventListener("abort", wake);
				set.delete(wake);
				resolve();
			};
			set.add(wake);
			this.waiters.set(tag, set);
			signal.addEventListener("abort", wake, { once: true });
		});
	}

	/** Rate limit before any parsing: a flood costs a counter, never a JSON parse or a signature check. */
	private admit(ws: WebSocket, att: Attachment, stats: ConnectionStats): boolean {
		const now = this.deps.clock();
		const perMs = REFILL_PER_HEARTBEAT / this.deps.heartbeatMs(att.pair);
		const b = this.buckets.get(ws) ?? { tokens: BUCKET_SIZE, at: now, droppedInRow: 0 };
		b.tokens = Math.min(BUCKET_SIZE, b.tokens + (now - b.at) * perMs);
		b.at = now;
		this.buckets.set(ws, b);
		if (b.tokens >= 1) {
			b.tokens -= 1;
			b.droppedInRow = 0;
			return true;
		}
		stats.dropped += 1;
		b.droppedInRow += 1;
		// Frames already in flight after the close land here too: close (and log) once.
		if (b.droppedInRow === FLOOD_CLOSE_AFTER) {
			this.refuse(
				ws,
				tagOf(att.pair, att.side),
				"flood",
				CLOSE.rateLimited,
				`over ${FLOOD_CLOSE_AFTER} frames dropped in a row by the rate limit`,
			);
		}
		return false;
	}

	private refuse(
		ws: WebSocket,
		tag: string | null,
		kind: RefusalKind | null,
		code: number,
		message: string,
	): void {
		if (tag !== null && kind !== null) {
			const stats = this.statsOf(tag);
			stats.refused += 1;
			stats.refusals[kind] = (stats.refusals[kind] ?? 0) + 1;
			stats.lastRefusal = `${kind}: ${message}`;
		}
		this.deps.log?.(`agent socket ${tag ?? "?"} closed ${code}: ${message}`);
		try {
			ws.close(code, closeReason(message));
		} catch {
			// Already closed.
		}
	}

	private statsOf(tag: string): ConnectionStats {
		let s = this.stats.get(tag);
		if (!s) {
			s = emptyStats();
			this.stats.set(tag, s);
		}
		return s;
	}
}
