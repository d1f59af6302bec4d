// Vitest globalSetup (Node side) for the worker tests: loopback stand-ins for primary gateways, switched per id.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { TestProject } from "vitest/node";
import { testBindings } from "./watchdog-config";

/**
 * up: 200 `{"ready":true}`; not-ready: 503; wrong-body: 200 with an HTML page; slow: answers after
 * delayMs; reset: drops the connection (a connect error); redirect: 302 to a login page.
 */
export type GatewayMode = "up" | "not-ready" | "wrong-body" | "slow" | "reset" | "redirect";
const MODES: readonly GatewayMode[] = [
	"up",
	"not-ready",
	"wrong-body",
	"slow",
	"reset",
	"redirect",
];

export interface GatewayGate {
	mode: GatewayMode;
	delayMs: number;
	hits: number;
}

declare module "vitest" {
	export interface ProvidedContext {
		/** Base URL of the loopback gateways: GET {base}/g/{id}/readyz, POST {base}/control/{id}. */
		gatewayBase: string;
		/** A loopback URL nothing listens on (connection refused). */
		refusedBase: string;
		/** The worker's test bindings (WATCHDOG_CONFIG pointing at the gateways, ADMIN_TOKEN, ...). */
		workerBindings: Record<string, string>;
	}
}

// Control bodies are one small JSON object.
const MAX_CONTROL_BODY = 1024;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
	const gates = new Map<string, GatewayGate>();
	const gate = (id: string): GatewayGate => {
		let g = gates.get(id);
		if (!g) {
			g = { mode: "up", delayMs: 30_000, hits: 0 };
			gates.set(id, g);
		}
		return g;
	};
	const sockets = new Set<Socket>();
	const server = createServer((req, res) => {
		const url = new URL(req.url ?? "/", "http://loopback");
		const probe = /^\/g\/([\w-]+)\/readyz$/.exec(url.pathname);
		if (probe?.[1] && req.method === "GET") return answerProbe(gate(probe[1]), req, res);
		const control = /^\/control\/([\w-]+)$/.exec(url.pathname);
		if (control?.[1] && req.method === "GET") return json(res, 200, gate(control[1]));
		if (control?.[1] && req.method === "POST") {
			const g = gate(control[1]);
			return void readJson(req).then(
				(body) => {
					const mode = (body as { mode?: unknown }).mode;
					if (mode !== undefined && !MODES.includes(mode as GatewayMode)) {
						return json(res, 400, { error: `mode: expected one of ${MODES.join(", ")}` });
					}
					if (mode !== undefined) g.mode = mode as GatewayMode;
					const delayMs = (body as { delayMs?: unknown }).delayMs;
					if (typeof delayMs === "number") g.delayMs = delayMs;
					if ((body as { resetHits?: unknown }).resetHits === true) g.hits = 0;
					json(res, 200, g);
				},
				(e: Error) => json(res, 400, { error: e.message }),
			);
		}
		json(res, 404, { error: "no such route" });
	});
	server.on("connection", (s) => {
		sockets.add(s);
		s.on("close", () => sockets.delete(s));
	});
	const port = await listen(server);
	// Bind then release a port: connecting to it is refused (nothing else on loopback takes it that fast).
	const spare = createServer();
	const refusedPort = await listen(spare);
	await new Promise<void>((r) => spare.close(() => r()));
	const gatewayBase = `http://127.0.0.1:${port}`;
	const refusedBase = `http://127.0.0.1:${refusedPort}`;
	project.provide("gatewayBase", gatewayBase);
	project.provide("refusedBase", refusedBase);
	project.provide("workerBindings", {
		...testBindings(gatewayBase, refusedBase),
		// workerd sees no host environment: a fuzz seed to reproduce travels as a binding.
		...(process.env.FUZZ_SEED ? { FUZZ_SEED: process.env.FUZZ_SEED } : {}),
	});
	return async () => {
		for (const s of sockets) s.destroy();
		await new Promise<void>((r) => server.close(() => r()));
	};
}

function answerProbe(g: GatewayGate, req: IncomingMessage, res: ServerResponse): void {
	g.hits += 1;
	const send = () => {
		switch (g.mode) {
			case "up":
			case "slow":
				return json(res, 200, { ready: true });
			case "not-ready":
				return json(res, 503, { ready: false });
			case "wrong-body":
				res.writeHead(200, { "content-type": "text/html" }).end("<html>captive portal</html>");
				return;
			case "redirect":
				res.writeHead(302, { location: "https://login.example.test/" }).end();
				return;
			case "reset":
				req.socket.destroy();
				return;
		}
	};
	if (g.mode !== "slow") return send();
	const timer = setTimeout(send, g.delayMs);
	// The prober gave up: nothing to answer.
	res.on("close", () => clearTimeout(timer));
}

function json(res: ServerResponse, status: number, body: unknown): void {
	if (res.headersSent) return;
	res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}

function readJson(req: IncomingMessage): Promise<unknown> {
	return new Promise((resolve, reject) => {
		let size = 0;
		const chunks: Buffer[] = [];
		req.on("data", (c: Buffer) => {
			size += c.length;
			if (size > MAX_CONTROL_BODY) reject(new Error(`control body over ${MAX_CONTROL_BODY} bytes`));
			else chunks.push(c);
		});
		req.on("end", () => {
			try {
				resolve(chunks.length ? JSON.parse(Buffer.concat(chunks).toString("utf8")) : {});
			} catch {
				reject(new Error("control body: expected JSON"));
			}
		});
		req.on("error", reject);
	});
}

function listen(server: Server): Promise<number> {
	return new Promise((resolve, reject) => {
		server.once("error", reject);
		server.listen(0, "127.0.0.1", () => {
			const addr = server.address();
			if (addr && typeof addr === "object") resolve(addr.port);
			else reject(new Error("no port"));
		});
	});
}
