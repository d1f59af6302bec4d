// A loopback webhook endpoint that records what the Worker sends; it can be taken down to test failure paths.
import { createServer, type Server } from "node:http";
import { listenLoopback } from "./ports";

export interface Received {
	at: number;
	path: string;
	headers: Record<string, string | string[] | undefined>;
	body: string;
	json: unknown;
}

export class WebhookReceiver {
	readonly received: Received[] = [];
	/** When true, every request gets a 500 (the endpoint is "down"). */
	failing = false;
	failedRequests = 0;
	private server: Server | undefined;
	private port = 0;

	get url(): string {
		return `http://127.0.0.1:${this.port}/hook`;
	}

	async start(): Promise<void> {
		const server = createServer((req, res) => {
			const chunks: Buffer[] = [];
			req.on("data", (c: Buffer) => chunks.push(c));
			req.on("end", () => {
				if (this.failing) {
					this.failedRequests += 1;
					res.writeHead(500).end("down");
					return;
				}
				const body = Buffer.concat(chunks).toString("utf8");
				let json: unknown;
				try {
					json = JSON.parse(body);
				} catch {
					json = undefined;
				}
				this.received.push({
					at: Date.now(),
					path: req.url ?? "",
					headers: req.headers,
					body,
					json,
				});
				res.writeHead(204).end();
			});
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
