// A loopback stand-in for an OpenClaw gateway's /readyz: answers 200, 503 (with OpenClaw's detailed body), never, or refuses.
import { createServer, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { onCleanup } from "./helpers";

/**
 * "starting": 503 with only `startup-sidecars` failing, as OpenClaw 2026.9.6 answers a loopback caller
 * for about 2.5 s after its port opens; "channel-down": 503 with a channel failing; "no-detail": 503
 * `{"ready":false}`, what a non-local caller gets.
 */
export type GatewayMode =
	| "ready"
	| "not-ready"
	| "hang"
	| "starting"
	| "channel-down"
	| "no-detail";

export interface FakeGateway {
	url: string;
	mode: GatewayMode;
	hits: number;
	/** The gateway's own uptime it reports in its body, ms. */
	uptimeMs: number;
	/** Stops listening (connections are refused) until start(); the port stays the same. */
	stop(): Promise<void>;
	start(): Promise<void>;
}

function body(mode: GatewayMode, uptimeMs: number): { status: number; json: unknown } {
	switch (mode) {
		case "ready":
			return { status: 200, json: { ready: true, failing: [], uptimeMs } };
		case "starting":
			return { status: 503, json: { ready: false, failing: ["startup-sidecars"], uptimeMs } };
		case "channel-down":
			return { status: 503, json: { ready: false, failing: ["telegram"], uptimeMs } };
		case "no-detail":
		case "not-ready":
		case "hang":
			return { status: 503, json: { ready: false } };
	}
}

export async function fakeGateway(mode: GatewayMode = "ready"): Promise<FakeGateway> {
	let server: Server | undefined;
	let port = 0;
	const sockets = new Set<Socket>();
	const state: FakeGateway = {
		mode,
		hits: 0,
		url: "",
		uptimeMs: 300_000,
		async start() {
			if (server) return;
			const s = createServer((req, res) => {
				state.hits++;
				if (state.mode === "hang") return; // never answers; the socket is destroyed at stop
				const { status, json } = body(state.mode, state.uptimeMs);
				res.writeHead(status, { "content-type": "application/json" });
				res.end(JSON.stringify(json));
			});
			s.on("connection", (c) => {
				sockets.add(c);
				c.on("close", () => sockets.delete(c));
			});
			await new Promise<void>((resolve) => s.listen(port, "127.0.0.1", resolve));
			port = (s.address() as AddressInfo).port;
			state.url = `http://127.0.0.1:${port}/readyz`;
			server = s;
		},
		async stop() {
			const s = server;
			if (!s) return;
			server = undefined;
			for (const c of sockets) c.destroy();
			await new Promise<void>((resolve) => s.close(() => resolve()));
		},
	};
	await state.start();
	onCleanup(() => state.stop());
	return state;
}

/** A loopback URL nothing listens on (the port was just released), so connecting is refused. */
export async function closedPortUrl(): Promise<string> {
	const server = createServer();
	await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
	const { port } = server.address() as AddressInfo;
	await new Promise<void>((resolve) => server.close(() => resolve()));
	return `http://127.0.0.1:${port}/readyz`;
}
