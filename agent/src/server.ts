// Binds an agent to a TCP port with @hono/node-server and shuts it down cleanly.
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { type Agent, type AgentIo, createAgent } from "./agent";
import type { AgentConfig } from "./config";

export interface RunningAgent {
	agent: Agent;
	host: string;
	port: number;
	close(): Promise<void>;
}

export type ListenResult = { ok: true; running: RunningAgent } | { ok: false; message: string };

export async function listenAgent(config: AgentConfig, io: AgentIo): Promise<ListenResult> {
	const agent = await createAgent(config, io);
	const server = serve({
		fetch: agent.app.fetch,
		hostname: config.listen.host,
		port: config.listen.port,
	});
	const listening = await new Promise<
		{ ok: true; address: AddressInfo } | { ok: false; error: NodeJS.ErrnoException }
	>((resolve) => {
		server.once("listening", () => resolve({ ok: true, address: server.address() as AddressInfo }));
		server.once("error", (error: NodeJS.ErrnoException) => resolve({ ok: false, error }));
	});
	if (!listening.ok) {
		await agent.close();
		const { code, message } = listening.error;
		const where = `${config.listen.host}:${config.listen.port}`;
		const hint =
			code === "EADDRINUSE"
				? `${where} is already in use (another agent? set listen.port)`
				: code === "EACCES"
					? `not allowed to listen on ${where}`
					: code === "EADDRNOTAVAIL" || code === "ENOTFOUND"
						? `listen.host ${config.listen.host} is not an address of this machine`
						: `cannot listen on ${where}: ${message}`;
		return { ok: false, message: hint };
	}
	const { port } = listening.address;
	let closing: Promise<void> | null = null;
	return {
		ok: true,
		running: {
			agent,
			host: config.listen.host,
			port,
			close() {
				closing ??= (async () => {
					await new Promise<void>((resolve) => {
						server.close(() => resolve());
						// Keep-alive connections would hold close() open; nothing in flight matters more than exiting.
						(server as { closeAllConnections?: () => void }).closeAllConnections?.();
					});
					await agent.close();
				})();
				return closing;
			},
		},
	};
}
