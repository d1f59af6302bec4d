// Loopback control endpoint the agents' exec steps call to start or stop a stand-in gateway (instead of systemctl).
import { createServer, type Server } from "node:http";
import type { FakeGateway } from "./fake-gateway";
import { listenLoopback } from "./ports";

export class ControlServer {
	private server: Server | undefined;
	private port = 0;
	readonly calls: string[] = [];
	/** Extra delay before a start completes, ms (a slow gateway start). */
	startDelayMs = 0;

	constructor(private readonly gateways: Record<string, FakeGateway>) {}

	get url(): string {
		return `http://127.0.0.1:${this.port}`;
	}

	/** The argv of an exec step that starts or stops `gateway` through this server: no shell involved. */
	execArgv(verb: "start" | "stop", gateway: string): string[] {
		const script = `fetch(${JSON.stringify(`${this.url}/${gateway}/${verb}`)}, { method: "POST" }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(2))`;
		return [process.execPath, "-e", script];
	}

	async start(): Promise<void> {
		const server = createServer((req, res) => {
			const m = /^\/(\w+)\/(start|stop)$/.exec(req.url ?? "");
			const gw = m?.[1] ? this.gateways[m[1]] : undefined;
			if (!m || !gw || req.method !== "POST") {
				res.writeHead(404).end();
				return;
			}
			this.calls.push(`${m[2]} ${m[1]}`);
			const act = async () => {
				if (m[2] === "start") {
					await new Promise((r) => setTimeout(r, this.startDelayMs));
					await gw.start();
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
