// The agent's outbound WebSocket to the Worker: hello, status pushes, signed requests run through the agent's own app, reconnects.
import {
	CLOSE,
	DIAL_OUT_PATH,
	MAX_FRAME_BYTES,
	parseFrame,
	type ServerFrame,
	ServerFrameSchema,
	type StatusResponse,
	signHello,
} from "../../protocol";
import type { Logger } from "./log";

/** The part of the agent's app (app.ts) the dialer needs: run one request in-process, exactly as if it came over HTTP. */
export interface RequestRunner {
	request(
		path: string,
		init: { method: string; headers: Record<string, string>; body?: string },
		env?: unknown,
	): Response | Promise<Response>;
}

/** The WebSocket constructor (Node's global, or a test double). */
export type WebSocketCtor = new (url: string) => WebSocket;

export interface DialOutOptions {
	/** The Worker's base URL, e.g. https://failover-gateway.example.workers.dev (http only for loopback tests). */
	url: string;
	pair: string;
	side: "primary" | "standby";
	/** The agent's own signing key (agentKeyFile). */
	privateKey: CryptoKey;
	app: RequestRunner;
	/** The body GET /v1/status would answer: pushed every heartbeat. */
	status: () => Promise<StatusResponse>;
	/** Each tick frame's lease (opaque here), for whoever holds leases. */
	onLease?: (lease: string | null, serverTime: number) => void;
	log: Logger;
	now?: () => number;
	WebSocket?: WebSocketCtor;
	random?: () => number;
}

/** What `failover-agent` reports about its connection (status, logs). */
export interface DialOutState {
	connected: boolean;
	/** When the current connection was welcomed, ms since epoch. */
	since: number | null;
	lastServerFrameAt: number | null;
	connects: number;
	/** The newest close: code and reason, as the Worker gave it. */
	lastClose: string | null;
	/** The wait before the next reconnect, ms (0 when connected). */
	retryInMs: number;
}

// Reconnect backoff: 1 s doubling to a 60 s cap with full jitter (AWS architecture blog, "Exponential
// Backoff and Jitter"), so agents cut off by a Worker redeploy do not all return in the same second.
export const BACKOFF_BASE_MS = 1_000;
export const BACKOFF_CAP_MS = 60_000;
/** A refusal that needs a config change (key, pair, version) is retried at the cap, not hammered. */
const SLOW_RETRY_CODES: ReadonlySet<number> = new Set([
	CLOSE.unauthenticated,
	CLOSE.forbidden,
	CLOSE.version,
]);
/** At most one status push on change per this many ms; heartbeats come on their own clock. */
const MIN_PUSH_GAP_MS = 250;

/** The wait before reconnect attempt `attempt` (0-based), ms: full jitter under an exponential cap. */
export function backoffMs(attempt: number, random: () => number, slow = false): number {
	const ceiling = slow ? BACKOFF_CAP_MS : Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** attempt);
	// Never under 500 ms: even the luckiest draw leaves the Worker a moment.
	return Math.max(500, Math.floor(random() * ceiling));
}

/** wss://host/agent/v1/connect?pair=&side= from the Worker's https base URL (ws:// for http). */
export function dialOutUrl(base: string, pair: string, side: string): string {
	const u = new URL(base);
	u.protocol = u.protocol === "http:" ? "ws:" : "wss:";
	u.pathname = DIAL_OUT_PATH;
	u.search = new URLSearchParams({ pair, side }).toString();
	return u.toString();
}

/**
 * Keeps one outbound connection to the Worker. Requests that arrive over it run through the agent's
 * own app (`app.request`): the same signature check, audience, replay cache and operations as the HTTP
 * transport, so a garbled or forged frame runs nothing.
 */
export class DialOut {
	private ws: WebSocket | null = null;
	private stopped = false;
	private attempt = 0;
	private heartbeat: ReturnType<typeof setInterval> | null = null;
	private retry: ReturnType<typeof setTimeout> | null = null;
	private silence: ReturnType<typeof setInterval> | null = null;
	private heartbeatMs = 2_500;
	private seq = 0;
	private lastPushAt = 0;
	private pushTimer: ReturnType<typeof setTimeout> | null = null;
	readonly state: DialOutState = {
		connected: false,
		since: null,
		lastServerFrameAt: null,
		connects: 0,
		lastClose: null,
		retryInMs: 0,
	};
	private readonly now: () => number;
	private readonly random: () => number;

	constructor(private readonly opts: DialOutOptions) {
		this.now = opts.now ?? Date.now;
		this.random = opts.random ?? Math.random;
	}

	start(): void {
		this.stopped = false;
		this.connect();
	}

	async stop(): Promise<void> {
		this.stopped = true;
		this.clearTimers();
		if (this.retry) clearTimeout(this.retry);
		this.retry = null;
		try {
			this.ws?.close(1000, "agent stopping");
		} catch {
			// Already closed.
		}
		this.ws = null;
	}

	/** Something changed (an operation ended, the gateway moved): push a status soon, rate-limited. */
	pushSoon(): void {
		if (!this.state.connected || this.pushTimer) return;
		const wait = Math.max(0, this.lastPushAt + MIN_PUSH_GAP_MS - this.now());
		this.pushTimer = setTimeout(() => {
			this.pushTimer = null;
			void this.pushStatus();
		}, wait);
	}

	private connect(): void {
		if (this.stopped) return;
		const Ctor = this.opts.WebSocket ?? (globalThis.WebSocket as unknown as WebSocketCtor);
		const url = dialOutUrl(this.opts.url, this.opts.pair, this.opts.side);
		let ws: WebSocket;
		try {
			ws = new Ctor(url);
		} catch (e) {
			this.scheduleReconnect(`cannot open ${url}: ${(e as Error).message}`, false);
			return;
		}
		this.ws = ws;
		this.state.connects += 1;
		this.state.lastServerFrameAt = this.now();
		ws.addEventListener("message", (e) => void this.onMessage(ws, e.data));
		ws.addEventListener("close", (e) => this.onClose(ws, e.code, e.reason));
		ws.addEventListener("error", () => {
			// A close event follows with the code; nothing to add here.
		});
		// A socket that stays open but silent (a half-open TCP connection) is found by the tick frames
		// the Worker sends every probe interval stopping.
		this.silence = setInterval(() => {
			const quiet = this.now() - (this.state.lastServerFrameAt ?? 0);
			if (quiet > this.silenceLimitMs()) {
				this.opts.log.warn("dial-out: the Worker went silent; reconnecting", { quietMs: quiet });
				// Counted as closed now: a half-open connection may never deliver its close event.
				this.onClose(ws, 4000, `no frame from the Worker for ${Math.round(quiet / 1000)} s`);
				try {
					ws.close(4000, "silent");
				} catch {
					// Already closed.
				}
			}
		}, 1_000);
		this.silence.unref?.();
	}

	private silenceLimitMs(): number {
		// Ticks come every probe interval (2 heartbeats); four intervals, never under 15 s.
		return Math.max(15_000, 8 * this.heartbeatMs);
	}

	private async onMessage(ws: WebSocket, data: unknown): Promise<void> {
		if (ws !== this.ws) return;
		this.state.lastServerFrameAt = this.now();
		const text =
			typeof data === "string"
				? data
				: data instanceof ArrayBuffer
					? data
					: "binary frame of an unexpected type";
		const parsed = parseFrame(ServerFrameSchema, text);
		if (!parsed.ok) {
			// A garbled frame from the Worker (or a proxy in between) is logged and dropped: nothing runs.
			this.opts.log.warn("dial-out: dropped a bad frame from the Worker", {
				error: parsed.message,
			});
			return;
		}
		await this.onFrame(ws, parsed.frame);
	}

	private async onFrame(ws: WebSocket, frame: ServerFrame): Promise<void> {
		switch (frame.t) {
			case "challenge": {
				const hello = await signHello({
					pair: this.opts.pair,
					side: this.opts.side,
					challenge: frame.challenge,
					privateKey: this.opts.privateKey,
					now: this.now(),
				});
				this.send(ws, hello);
				return;
			}
			case "welcome": {
				this.attempt = 0;
				this.heartbeatMs = frame.heartbeatMs;
				this.state.connected = true;
				this.state.since = this.now();
				this.state.retryInMs = 0;
				this.opts.log.info("dial-out: connected", {
					pair: frame.pair,
					side: frame.side,
					heartbeatMs: frame.heartbeatMs,
					skewMs: this.now() - frame.serverTime,
				});
				if (this.heartbeat) clearInterval(this.heartbeat);
				this.heartbeat = setInterval(() => void this.pushStatus(), frame.heartbeatMs);
				this.heartbeat.unref?.();
				await this.pushStatus();
				return;
			}
			case "tick":
				this.opts.onLease?.(frame.lease, frame.serverTime);
				return;
			case "request": {
				const headers: Record<string, string> = { ...frame.headers };
				const res = await this.opts.app.request(
					frame.path,
					{
						method: frame.method,
						headers,
						...(frame.body !== null ? { body: frame.body } : {}),
					},
					// The auth-failure limiter keys on this: all dial-out requests come from the Worker.
					{ incoming: { socket: { remoteAddress: "dial-out" } } },
				);
				const out: Record<string, string> = {};
				res.headers.forEach((v, k) => {
					if (k.startsWith("x-fg-") || k === "content-type") out[k] = v;
				});
				let body = await res.text();
				if (body.length > MAX_FRAME_BYTES - 1024) body = body.slice(0, MAX_FRAME_BYTES - 1024);
				this.send(ws, { t: "response", id: frame.id, status: res.status, headers: out, body });
				// A command may have changed the role, the term or the gateway: tell the Worker soon.
				this.pushSoon();
				return;
			}
			default:
				frame satisfies never;
		}
	}

	private async pushStatus(): Promise<void> {
		const ws = this.ws;
		if (!ws || !this.state.connected) return;
		this.lastPushAt = this.now();
		try {
			const status = await this.opts.status();
			this.send(ws, { t: "status", seq: this.seq++, status });
		} catch (e) {
			this.opts.log.warn("dial-out: could not build a status", { error: (e as Error).message });
		}
	}

	private send(ws: WebSocket, frame: unknown): void {
		if (ws.readyState !== 1) return;
		try {
			ws.send(JSON.stringify(frame));
		} catch (e) {
			this.opts.log.warn("dial-out: send failed", { error: (e as Error).message });
		}
	}

	private onClose(ws: WebSocket, code: number, reason: string): void {
		if (ws !== this.ws) return;
		this.ws = null;
		this.clearTimers();
		const wasConnected = this.state.connected;
		this.state.connected = false;
		this.state.lastClose = `${code}${reason ? ` ${reason}` : ""}`;
		if (this.stopped) return;
		const why = reason || (code === 1006 ? "connection lost" : `closed with code ${code}`);
		const level = wasConnected && code === CLOSE.replaced ? "info" : "warn";
		this.opts.log[level]("dial-out: connection closed", { code, reason: why });
		this.scheduleReconnect(why, SLOW_RETRY_CODES.has(code));
	}

	private scheduleReconnect(why: string, slow: boolean): void {
		if (this.stopped) return;
		const wait = backoffMs(this.attempt, this.random, slow);
		this.attempt += 1;
		this.state.retryInMs = wait;
		this.opts.log.info("dial-out: reconnecting", { inMs: wait, after: why });
		this.retry = setTimeout(() => {
			this.retry = null;
			this.connect();
		}, wait);
	}

	private clearTimers(): void {
		if (this.heartbeat) clearInterval(this.heartbeat);
		if (this.silence) clearInterval(this.silence);
		if (this.pushTimer) clearTimeout(this.pushTimer);
		this.heartbeat = null;
		this.silence = null;
		this.pushTimer = null;
	}
}
