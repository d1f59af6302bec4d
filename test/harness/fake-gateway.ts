// A stand-in OpenClaw gateway on loopback: /readyz answers as the test says (up, 503, slow, wrong body, 403, stopped).
import { createServer, type Server } from "node:http";
import type { Socket } from "node:net";

export type GatewayMode = "up" | "not-ready" | "slow" | "wrong-body" | "forbidden";

export class FakeGateway {
	mode: GatewayMode = "up";
	/** Delay before answering in "slow" mode, ms. */
	slowMs = 5_000;
	/** Readiness probes answered, by outcome; lets tests see who probed. */
	readonly hits = { ok: 0, failed: 0 };
	private server: Server | undefined;
	private readonly sockets = new Set<Socket>();

	constructor(
		readonly name: string,
		private port = 0,
	) {}

	get url(): string {
		return `http://127.0.0.1:${this.port}`;
	}

	get readyUrl(): string {
		return `${this.url}/readyz`;
	}

	get running(): boolean {
		return this.server !== undefined;
	}

	/** Listens (again) on the same port, so URLs handed out earlier keep working. */
	async start(): Promise<void> {
		if (this.server) return;
		const server = createServer((req, res) => {
			if (req.url !== "/readyz" && req.url !== "/healthz") {
				res.writeHead(404).end();
				return;
			}
			const answer = () => {
				if (this.mode === "not-ready") {
					this.hits.failed += 1;
					res.writeHead(503, { "content-type": "application/json" }).end('{"ready":false}');
				} else if (this.mode === "forbidden") {
					// An access rule in front of a healthy gateway: refused, never a down vote.
					this.hits.failed += 1;
					res.writeHead(403, { "content-type": "text/plain" }).end("forbidden");
				} else if (this.mode === "wrong-body") {
					this.hits.failed += 1;
					res.writeHead(200, { "content-type": "text/html" }).end("<html>captive portal</html>");
				} else {
					this.hits.ok += 1;
					res.writeHead(200, { "content-type": "application/json" }).end('{"ready":true}');
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

	/** Stops listening and drops open connections: probes now get "connection refused". */
	async stop(): Promise<void> {
		const server = this.server;
		if (!server) return;
		this.server = undefined;
		for (const s of this.sockets) s.destroy();
		await new Promise<void>((resolve) => server.close(() => resolve()));
	}
}
