// A stand-in OpenClaw gateway on loopback: /readyz answers as the test says (up, 503, slow, wrong body, 403,
// starting, channel down, stopped), a restart imitates OpenClaw's start sequence, and a systemd-like unit state follows it.
import { renameSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { Socket } from "node:net";

/**
 * "starting": 503 with only `startup-sidecars` failing (OpenClaw 2026.9.6 for ~2.5 s after its port
 * opens); "channel-down": 503 with a channel failing (a broken gateway, not a starting one).
 */
export type GatewayMode =
	| "up"
	| "not-ready"
	| "slow"
	| "wrong-body"
	| "forbidden"
	| "starting"
	| "channel-down";

/** CLOCK_MONOTONIC in µs: the clock of systemd's unit timestamps, the same in every process on the machine. */
function monoUs(): number {
	return Number(process.hrtime.bigint() / 1000n);
}

/** One restart: the port refuses for `refuseMs`, then answers 503 `startup-sidecars` for `startingMs`. */
export interface RestartShape {
	refuseMs: number;
	startingMs: number;
}

export class FakeGateway {
	mode: GatewayMode = "up";
	/** Delay before answering in "slow" mode, ms. */
	slowMs = 5_000;
	/** Readiness probes answered, by outcome; lets tests see who probed. */
	readonly hits = { ok: 0, failed: 0 };
	private server: Server | undefined;
	private readonly sockets = new Set<Socket>();
	/** CLOCK_MONOTONIC µs when the unit became active; undefined while inactive. */
	private unitSince: number | undefined;
	private readonly timers = new Set<ReturnType<typeof setTimeout>>();

	constructor(
		readonly name: string,
		private port = 0,
		/** Where the unit's `systemctl show` output is kept for the fake systemctl (fake-systemctl.ts). */
		readonly unitFile?: string,
	) {
		this.writeUnit();
	}

	get url(): string {
		return `http://127.0.0.1:${this.port}`;
	}

	get readyUrl(): string {
		return `${this.url}/readyz`;
	}

	get running(): boolean {
		return this.server !== undefined;
	}

	/** What `systemctl show` prints for this gateway's unit (Type=simple: active from the process start). */
	unitShow(): string {
		const since = this.unitSince ?? 0;
		return [
			"LoadState=loaded",
			`ActiveState=${since ? "active" : "inactive"}`,
			`SubState=${since ? "running" : "dead"}`,
			`InactiveExitTimestampMonotonic=${since}`,
			`ActiveEnterTimestampMonotonic=${since}`,
			"",
		].join("\n");
	}

	private setUnit(since: number | undefined): void {
		this.unitSince = since;
		this.writeUnit();
	}

	/** Replaced atomically (temp + rename) so the fake systemctl never prints half a file. */
	private writeUnit(): void {
		if (this.unitFile === undefined) return;
		writeFileSync(`${this.unitFile}.tmp`, this.unitShow());
		renameSync(`${this.unitFile}.tmp`, this.unitFile);
	}

	/** Listens (again) on the same port, so URLs handed out earlier keep working; the unit is active. */
	async start(): Promise<void> {
		if (this.unitSince === undefined) this.setUnit(monoUs());
		await this.listen();
	}

	/** Stops listening and drops open connections: probes now get "connection refused"; the unit is inactive. */
	async stop(): Promise<void> {
		this.cancelRestart();
		this.setUnit(undefined);
		await this.close();
	}

	/**
	 * `systemctl restart` of an OpenClaw gateway: the unit is active again at once, the port refuses for
	 * `refuseMs`, then /readyz answers 503 with only `startup-sidecars` failing for `startingMs`, then
	 * 200. Resolves when the gateway is ready again. Real 2026.9.6: about 9.5 s + 2.5 s.
	 */
	async restart(shape: RestartShape): Promise<void> {
		this.cancelRestart();
		await this.close();
		this.setUnit(monoUs());
		await this.after(shape.refuseMs);
		this.mode = "starting";
		await this.listen();
		await this.after(shape.startingMs);
		this.mode = "up";
	}

	private after(ms: number): Promise<void> {
		return new Promise((resolve) => {
			const t = setTimeout(() => {
				this.timers.delete(t);
				resolve();
			}, ms);
			this.timers.add(t);
		});
	}

	private cancelRestart(): void {
		for (const t of this.timers) clearTimeout(t);
		this.timers.clear();
	}

	private uptimeMs(): number {
		return this.unitSince === undefined ? 0 : Math.round((monoUs() - this.unitSince) / 1000);
	}

	private async listen(): Promise<void> {
		if (this.server) return;
		const server = createServer((req, res) => {
			if (req.url !== "/readyz" && req.url !== "/healthz") {
				res.writeHead(404).end();
				return;
			}
			const json = (status: number, body: unknown) =>
				res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
			const answer = () => {
				const uptimeMs = this.uptimeMs();
				if (this.mode === "not-ready") {
					this.hits.failed += 1;
					res.writeHead(503, { "content-type": "application/json" }).end('{"ready":false}');
				} else if (this.mode === "starting") {
					this.hits.failed += 1;
					json(503, { ready: false, failing: ["startup-sidecars"], uptimeMs });
				} else if (this.mode === "channel-down") {
					this.hits.failed += 1;
					json(503, { ready: false, failing: ["telegram"], uptimeMs });
				} else if (this.mode === "forbidden") {
					// An access rule in front of a healthy gateway: refused, never a down vote.
					this.hits.failed += 1;
					res.writeHead(403, { "content-type": "text/plain" }).end("forbidden");
				} else if (this.mode === "wrong-body") {
					this.hits.failed += 1;
					res.writeHead(200, { "content-type": "text/html" }).end("<html>captive portal</html>");
				} else {
					this.hits.ok += 1;
					json(200, { ready: true, failing: [], uptimeMs });
				}
			};
			if (this.mode === "slow") setTimeout(answer, this.slowMs).unref();
			else answer();
		});
		server.on("connection", (s) => {
			this.sockets.add(s);
			s.on("close", () => this.sockets.delete(s));
		});
		await new Promise<void>((resolve, reject) => {
			server.once("error", reject);
			server.listen(this.port, "127.0.0.1", () => resolve());
		});
		const addr = server.address();
		if (addr && typeof addr === "object") this.port = addr.port;
		this.server = server;
	}

	private async close(): Promise<void> {
		const server = this.server;
		if (!server) return;
		this.server = undefined;
		for (const s of this.sockets) s.destroy();
		await new Promise<void>((resolve) => server.close(() => resolve()));
	}
}
