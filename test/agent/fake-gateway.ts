// A loopback stand-in for an OpenClaw gateway's /readyz: answers 200, 503, or never, as the test says.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { onCleanup } from "./helpers";

export type GatewayMode = "ready" | "not-ready" | "hang";

export interface FakeGateway {
	url: string;
	mode: GatewayMode;
	hits: number;
}

export async function fakeGateway(mode: GatewayMode = "ready"): Promise<FakeGateway> {
	const state = { mode, hits: 0, url: "" };
	const server: Server = createServer((req, res) => {
		state.hits++;
		if (state.mode === "hang") return; // never answers; the socket is destroyed at cleanup
		res.writeHead(state.mode === "ready" ? 200 : 503, { "content-type": "application/json" });
		res.end(JSON.stringify({ ready: state.mode === "ready" }));
	});
	await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
	state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/readyz`;
	onCleanup(async () => {
		server.closeAllConnections();
		await new Promise<void>((resolve) => server.close(() => resolve()));
	});
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
