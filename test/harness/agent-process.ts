// Runs a real failover-agent process (the CLI's `serve`) with a config the lab writes; kill and restart it at will.
import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { reservePort, waitFor } from "./ports";
import { stopGroup } from "./process-group";
import { projectRoot } from "./root";

export class AgentProcess {
	private child: ChildProcess | undefined;
	readonly log: string[] = [];
	port = 0;
	private configPath = "";

	constructor(
		readonly name: string,
		private readonly dir: string,
		/** The agent config without `listen`; the lab fills it in. */
		private readonly config: Record<string, unknown>,
		private readonly onLine?: (line: string) => void,
		/** Merged over this process's environment (the lab puts its fake systemctl on PATH). */
		private readonly env?: Record<string, string>,
	) {}

	get url(): string {
		return `http://127.0.0.1:${this.port}`;
	}

	get pid(): number | undefined {
		return this.running ? this.child?.pid : undefined;
	}

	get running(): boolean {
		return this.child !== undefined && this.child.exitCode === null;
	}

	async start(timeoutMs = 20_000): Promise<void> {
		// Reserved, not ephemeral: the port is kept across restarts, and an ephemeral one can be taken
		// meanwhile as the source port of any loopback connection (seen: a restarted agent found its
		// port in use while other labs ran beside it).
		if (this.port === 0) this.port = await reservePort();
		this.configPath = join(this.dir, `${this.name}-agent.json`);
		writeFileSync(
			this.configPath,
			JSON.stringify({ ...this.config, listen: { host: "127.0.0.1", port: this.port } }, null, 2),
		);
		const root = projectRoot();
		this.child = spawn(
			process.execPath,
			[join(root, "agent/bin/failover-agent.mjs"), "serve", "--config", this.configPath],
			{
				cwd: root,
				stdio: ["ignore", "pipe", "pipe"],
				detached: true,
				...(this.env ? { env: { ...process.env, ...this.env } } : {}),
			},
		);
		const collect = (buf: Buffer) => {
			for (const line of buf.toString("utf8").split("\n")) {
				if (!line.trim()) continue;
				this.log.push(line);
				this.onLine?.(line);
			}
		};
		this.child.stdout?.on("data", collect);
		this.child.stderr?.on("data", collect);
		const child = this.child;
		await waitFor(
			`the ${this.name} agent to answer /healthz`,
			async () => {
				if (child.exitCode !== null) {
					throw new Error(`agent exited (${child.exitCode}): ${this.log.slice(-5).join(" | ")}`);
				}
				const r = await fetch(`${this.url}/healthz`, { signal: AbortSignal.timeout(500) });
				return r.ok;
			},
			timeoutMs,
		);
	}

	/** SIGKILL: a crash, no chance to clean up (tests an operation cut off mid-way). */
	async kill(): Promise<void> {
		await this.signal("SIGKILL");
	}

	/** SIGTERM: a clean stop. */
	async stop(): Promise<void> {
		await this.signal("SIGTERM");
	}

	private async signal(sig: NodeJS.Signals): Promise<void> {
		const child = this.child;
		this.child = undefined;
		await stopGroup(child, sig, 5_000); // Its group: steps it spawned die with it.
	}
}
