// A loopback TCP proxy the test can break: the Worker's route to the primary goes through it, the standby's does not.
import { connect, createServer, type Server, type Socket } from "node:net";
import { listenLoopback } from "./ports";

export type ProxyFault = "none" | "refuse" | "blackhole";

export class BreakableProxy {
	fault: ProxyFault = "none";
	/** Connections still to refuse before the route works again (single-probe blips). */
	private refuseNext = 0;
	/** Connections refused so far by failNext(). */
	refused = 0;
	private server: Server | undefined;
	private readonly sockets = new Set<Socket>();
	private port = 0;

	constructor(private readonly target: { host: string; port: number }) {}

	get url(): string {
		return `http://127.0.0.1:${this.port}`;
	}

	async start(): Promise<void> {
		const server = createServer((client) => {
			this.sockets.add(client);
			client.on("close", () => this.sockets.delete(client));
			client.on("error", () => {});
			if (this.fault === "refuse" || this.refuseNext > 0) {
				if (this.fault !== "refuse") {
					this.refuseNext -= 1;
					this.refused += 1;
				}
				client.destroy();
				return;
			}
			if (this.fault === "blackhole") return; // Accept, never answer: the prober times out.
			const upstream = connect(this.target.port, this.target.host);
			this.sockets.add(upstream);
			upstream.on("close", () => this.sockets.delete(upstream));
			upstream.on("error", () => client.destroy());
			client.pipe(upstream).pipe(client);
		});
		this.port = await listenLoopback(server);
		this.server = server;
	}

	/** Refuses just the next `n` connections: exactly `n` failed probes, then the route heals itself. */
	failNext(n: number): void {
		this.refuseNext = n;
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
