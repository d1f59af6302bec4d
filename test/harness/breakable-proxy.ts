// A loopback TCP proxy the test can break: the Worker's route to the primary goes through it, the standby's does not.
import { connect, createServer, type Server, type Socket } from "node:net";
import { listenLoopback } from "./ports";

export type ProxyFault = "none" | "refuse" | "blackhole";

// workerd retries a GET whose kept-alive connection was cut, on a new connection within ~10 ms (seen in
// the lab); the next probe is a whole interval (1 s or more) away. 200 ms tells the two apart.
const RETRY_WINDOW_MS = 200;

// An HTTP/1.1 request line's start; bodies (JSON) and WebSocket frames (binary headers) never match it.
const REQUEST_LINE = /^(GET|POST|PUT|DELETE|HEAD|PATCH|OPTIONS) \//;

export class BreakableProxy {
	fault: ProxyFault = "none";
	/** Probes still to fail before the route works again (single-probe blips). */
	private refuseNext = 0;
	/** Probes failed so far by failNext() (a probe's immediate retry is not counted again). */
	refused = 0;
	/**
	 * HTTP requests passed through (a chunk from the client that starts with a request line): what a
	 * bench reads as the Worker's subrequests on this route. A WebSocket counts once, its upgrade.
	 */
	requests = 0;
	/** Until when (epoch ms) new connections are refused as the retry of a probe failNext() just failed. */
	private retryRefusedUntil = 0;
	private server: Server | undefined;
	private readonly sockets = new Set<Socket>();
	private port = 0;

	/**
	 * `target.port` may be 0 until the process behind it is up (see retarget): a port reserved ahead
	 * of a slow start could be taken by another process in between.
	 */
	constructor(private target: { host: string; port: number }) {}

	/** Points the route at `port` from the next connection on. */
	retarget(port: number): void {
		this.target = { ...this.target, port };
	}

	get url(): string {
		return `http://127.0.0.1:${this.port}`;
	}

	async start(): Promise<void> {
		const server = createServer((client) => {
			this.sockets.add(client);
			client.on("close", () => this.sockets.delete(client));
			client.on("error", () => {});
			if (this.fault === "refuse") {
				client.destroy();
				return;
			}
			if (this.fault === "none" && Date.now() < this.retryRefusedUntil) {
				client.destroy(); // The failed probe's retry: still the same blip.
				return;
			}
			if (this.fault === "none" && this.refuseNext > 0) {
				this.failOneProbe();
				client.destroy();
				return;
			}
			if (this.fault === "blackhole") return; // Accept, never answer: the prober times out.
			const upstream = connect(this.target.port, this.target.host);
			this.sockets.add(upstream);
			upstream.on("close", () => this.sockets.delete(upstream));
			upstream.on("error", () => client.destroy());
			// workerd keeps the probe's connection alive between ticks (and strips a `Connection: close`
			// header), so a blip must also fail a probe that arrives on an open connection: the route drops
			// it with a reset before the gateway sees it. Only probes (bodiless GETs, one chunk each on
			// loopback) cross this route, so a chunk from the prober is a request.
			client.on("data", (chunk) => {
				if (this.fault === "none" && this.refuseNext > 0) {
					this.failOneProbe();
					upstream.destroy();
					client.resetAndDestroy();
					return;
				}
				const head =
					typeof chunk === "string" ? chunk.slice(0, 16) : chunk.toString("latin1", 0, 16);
				if (REQUEST_LINE.test(head)) this.requests += 1;
				if (!upstream.write(chunk)) client.pause();
			});
			upstream.on("drain", () => client.resume());
			client.on("end", () => upstream.end());
			upstream.pipe(client);
		});
		this.port = await listenLoopback(server);
		this.server = server;
	}

	/**
	 * Fails just the next `n` probes, then the route heals itself: a new connection is refused, a request
	 * on a kept-alive one is cut, and the prober's immediate retry of that probe is refused too, so each
	 * of the `n` is one failed probe whichever way the prober connects.
	 */
	failNext(n: number): void {
		this.refuseNext = n;
	}

	private failOneProbe(): void {
		this.refuseNext -= 1;
		this.refused += 1;
		this.retryRefusedUntil = Date.now() + RETRY_WINDOW_MS;
	}

	/** Breaks the route: open connections are cut and new ones fail as `fault` says. */
	break(fault: Exclude<ProxyFault, "none"> = "refuse"): void {
		this.fault = fault;
		for (const s of this.sockets) s.destroy();
	}

	heal(): void {
		this.fault = "none";
	}

	async stop(): Promise<void> {
		for (const s of this.sockets) s.destroy();
		const server = this.server;
		this.server = undefined;
		if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
	}
}
