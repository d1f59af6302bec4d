// Loopback control endpoint the agents' exec steps call to start, stop or restart a stand-in gateway (instead of systemctl).
import { createServer, type Server } from "node:http";
import type { FakeGateway } from "./fake-gateway";
import { listenLoopback } from "./ports";

/** OpenClaw 2026.9.6 measured on a VPS: connections refused for about 9.5 s, then `startup-sidecars` for about 2.5 s. */
export const RESTART_REFUSE_MS = 9_500;
export const RESTART_STARTING_MS = 2_500;

export class ControlServer {
	private server: Server | undefined;
	private port = 0;
	readonly calls: string[] = [];
	/** The same calls with the time each arrived (ms since epoch), to order a fence against a promote. */
	readonly timeline: { at: number; call: string }[] = [];
	/** Extra delay before a start completes, ms (a slow gateway start). */
	startDelayMs = 0;

	constructor(private readonly gateways: Record<string, FakeGateway>) {}

	get url(): string {
		return `http://127.0.0.1:${this.port}`;
	}

	/** The argv of an exec step that starts, stops or restarts `gateway` through this server: no shell involved. */
	execArgv(verb: "start" | "stop" | "restart", gateway: string): string[] {
		const script = `fetch(${JSON.stringify(`${this.url}/${gateway}/${verb}`)}, { method: "POST" }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(2))`;
		return [process.execPath, "-e", script];
	}

	async start(): Promise<void> {
		const server = createServer((req, res) => {
			const url = new URL(req.url ?? "/", "http://control");
			const m = /^\/(\w+)\/(start|stop|restart)$/.exec(url.pathname);
			const gw = m?.[1] ? this.gateways[m[1]] : undefined;
			if (!m || !gw || req.method !== "POST") {
				res.writeHead(404).end();
				return;
			}
			this.calls.push(`${m[2]} ${m[1]}`);
			this.timeline.push({ at: Date.now(), call: `${m[2]} ${m[1]}` });
			const act = async () => {
				if (m[2] === "start") {
					await new Promise((r) => setTimeout(r, this.startDelayMs));
					await gw.start();
				} else if (m[2] === "restart") {
					// Like `systemctl restart`: answers once the unit is restarted, not when it is ready.
					void gw.restart({
						refuseMs: Number(url.searchParams.get("refuseMs") ?? RESTART_REFUSE_MS),
						startingMs: Number(url.searchParams.get("startingMs") ?? RESTART_STARTING_MS),
					});
				} else await gw.stop();
			};
			act().then(
				() => res.writeHead(204).end(),
				(e: Error) => res.writeHead(500).end(e.message),
			);
		});
		this.port = await listenLoopback(server);
		this.server = server;
	}

	async stop(): Promise<void> {
		const server = this.server;
		this.server = undefined;
		if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
	}
}
