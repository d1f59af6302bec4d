// The agent's outbound WebSocket to the Worker: hello, status pushes, signed requests run through the agent's own app, reconnects.
import {
	CLOSE,
	DIAL_OUT_PATH,
	type DialOutReport,
	ErrorResponseSchema,
	MAX_FRAME_BYTES,
	MAX_SKEW_MS,
	parseFrame,
	type ServerFrame,
	ServerFrameSchema,
	type StatusResponse,
	signHello,
} from "../../protocol";
import type { AgentAnswer, AgentRequest } from "./agent-http";
import type { Logger } from "./log";

/**
 * The part of the agent's app (app.ts) the dialer needs: run one request in-process, exactly as if it
 * came over HTTP. `handle`, not the web `request`: building a web Request/Response loads undici (about
 * 9 MiB of RSS, docs/agent.md "Measured"), which a dial-out agent on `ws` otherwise never loads.
 */
export interface RequestRunner {
	handle(req: AgentRequest): Promise<AgentAnswer>;
}

/** The WebSocket constructor: the agent passes NodeWebSocket (ws-client.ts, on the `ws` package); tests a double. */
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
	/**
	 * No default here: Node's global WebSocket is undici's (about 4 to 7 MiB more RSS, docs/agent.md
	 * "Measured"), and this module stays free of node-only imports (the Worker's tests run it in workerd).
	 */
	WebSocket: WebSocketCtor;
	random?: () => number;
}

/** What `failover-agent` reports about its connection (status, logs). */
export interface DialOutState {
	connected: boolean;
	/** When the current connection was welcomed, ms since epoch. */
	since: number | null;
	lastServerFrameAt: number | null;
	connects: number;
	/** The newest close: code and reason, as the Worker gave it, and when (ms since epoch). */
	lastClose: string | null;
	lastCloseAt: number | null;
	/** The wait before the next reconnect, ms (0 when connected). */
	retryInMs: number;
	/** Frames from the Worker dropped unread: not a valid frame, or not one this connection expects. */
	dropped: number;
	/** Request frames the agent's app refused (4xx: signature, audience, replay, timestamp ...). */
	refused: number;
	/** Of those, refused for the timestamp (stale-timestamp): the clocks disagree. */
	clockSkew: number;
	/** The newest drop or refusal, in words. */
	lastDrop: string | null;
	/** This agent's clock minus the Worker's, at the newest frame carrying serverTime (ms). */
	skewMs: number | null;
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder();

/** Longest text a status field takes (DialOutReportSchema): close reasons and drop reasons are cut to it. */
const REPORT_TEXT_MAX = 256;

function cut(text: string): string {
	return text.length <= REPORT_TEXT_MAX ? text : `${text.slice(0, REPORT_TEXT_MAX - 3)}...`;
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
		lastCloseAt: null,
		retryInMs: 0,
		dropped: 0,
		refused: 0,
		clockSkew: 0,
		lastDrop: null,
		skewMs: null,
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

	/** The connection as this agent's pushed status reports it (DialOutReportSchema). */
	report(): DialOutReport {
		const s = this.state;
		return {
			connected: s.connected,
			connects: s.connects,
			lastClose: s.lastClose,
			lastCloseAt: s.lastCloseAt,
			dropped: s.dropped,
			refused: s.refused,
			clockSkew: s.clockSkew,
			lastDrop: s.lastDrop,
			skewMs: s.skewMs,
		};
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
		const Ctor = this.opts.WebSocket;
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
		// The socket's own error, if it says one (ws does: "Max payload size exceeded", "ECONNREFUSED ..."):
		// a close that follows without a reason (1006) is reported with it.
		let error = "";
		ws.addEventListener("close", (e) =>
			this.onClose(ws, e.code, e.reason || (e.code === 1006 && error ? `(${error})` : "")),
		);
		ws.addEventListener("error", (e) => {
			const message = (e as Event & { message?: unknown }).message;
			if (typeof message === "string") error = message;
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
		// Node delivers binary frames as a Blob (or a Buffer): the protocol has none, so none is read.
		if (typeof data !== "string") return this.drop("binary frame; expected JSON text");
		const parsed = parseFrame(ServerFrameSchema, data);
		if (!parsed.ok) {
			// A garbled frame from the Worker (or a proxy in between) is counted and dropped: nothing runs.
			this.drop(parsed.message);
			return;
		}
		await this.onFrame(ws, parsed.frame);
	}

	/** Counts a frame dropped unread; logged at the first and then every 100th, so a flood cannot fill the log. */
	private drop(why: string): void {
		this.state.dropped += 1;
		this.state.lastDrop = cut(`dropped a frame from the Worker: ${why}`);
		if (this.state.dropped % 100 === 1) {
			this.opts.log.warn("dial-out: dropped a bad frame from the Worker", {
				error: why,
				dropped: this.state.dropped,
			});
		}
	}

	private async onFrame(ws: WebSocket, frame: ServerFrame): Promise<void> {
		// The Worker welcomes before it sends anything else: a request or tick before that is not its protocol.
		if ((frame.t === "request" || frame.t === "tick") && !this.state.connected) {
			return this.drop(`${frame.t} frame before the welcome`);
		}
		switch (frame.t) {
			case "challenge": {
				// One challenge per connection: a second one on a welcomed socket is not the Worker's protocol
				// (and answering it would hand out hellos signed on request).
				if (this.state.connected) return this.drop("a challenge on a welcomed connection");
				this.state.skewMs = this.now() - frame.serverTime;
				if (Math.abs(this.state.skewMs) > MAX_SKEW_MS) {
					// The Worker will refuse the hello ("clock off"): say why here, where NTP can be fixed.
					this.opts.log.warn("dial-out: this host's clock is far off the Worker's; fix NTP", {
						skewMs: this.state.skewMs,
						maxSkewMs: MAX_SKEW_MS,
					});
				}
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
				if (frame.pair !== this.opts.pair || frame.side !== this.opts.side) {
					return this.drop(
						`a welcome for ${frame.pair}/${frame.side}; this agent is ${this.opts.pair}/${this.opts.side}`,
					);
				}
				this.state.skewMs = this.now() - frame.serverTime;
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
				this.state.skewMs = this.now() - frame.serverTime;
				this.opts.onLease?.(frame.lease, frame.serverTime);
				return;
			case "request": {
				const body = frame.body !== null ? utf8Encoder.encode(frame.body) : new Uint8Array(0);
				const answer = await this.opts.app.handle({
					method: frame.method,
					path: frame.path,
					headers: { ...frame.headers },
					// The auth-failure limiter keys on this: all dial-out requests come from the Worker.
					source: "dial-out",
					// The frame is already whole and capped (MAX_FRAME_BYTES, and the schema's MAX_BODY_BYTES).
					readBody: async (limit) =>
						body.byteLength > limit
							? { ok: false, reason: "too-large" }
							: { ok: true, bytes: body },
				});
				let text = utf8Decoder.decode(answer.body);
				if (answer.status >= 400) this.countRefusal(frame.path, answer.status, text);
				const out: Record<string, string> = {};
				for (const [k, v] of Object.entries(answer.headers)) {
					const name = k.toLowerCase();
					if (name.startsWith("x-fg-") || name === "content-type") out[name] = v;
				}
				if (text.length > MAX_FRAME_BYTES - 1024) text = text.slice(0, MAX_FRAME_BYTES - 1024);
				this.send(ws, {
					t: "response",
					id: frame.id,
					status: answer.status,
					headers: out,
					body: text,
				});
				// A command may have changed the role, the term or the gateway: tell the Worker soon.
				this.pushSoon();
				return;
			}
			default:
				frame satisfies never;
		}
	}

	/** A request the agent's app refused: counted by kind, clock skew apart (it needs NTP, not a key). */
	private countRefusal(path: string, status: number, body: string): void {
		this.state.refused += 1;
		let code = `HTTP ${status}`;
		let message = "";
		try {
			const parsed = ErrorResponseSchema.safeParse(JSON.parse(body));
			if (parsed.success) {
				code = parsed.data.error.code;
				message = parsed.data.error.message;
			}
		} catch {
			// Not JSON: the status code says enough.
		}
		if (code === "stale-timestamp") this.state.clockSkew += 1;
		this.state.lastDrop = cut(
			`refused a request for ${path}: ${code}${message ? ` (${message})` : ""}`,
		);
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
		this.state.lastClose = cut(`${code}${reason ? ` ${reason}` : ""}`);
		this.state.lastCloseAt = this.now();
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
