// Runs the real Worker in local workerd through `wrangler dev`, with vars and secrets passed in, on loopback.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { reservePort, waitFor } from "./ports";
import { stopGroup } from "./process-group";
import { projectRoot } from "./root";

const ROOT = projectRoot();

export interface WorkerDevOptions {
	/** Plain vars and secrets alike: locally both are env bindings. */
	vars: Record<string, string>;
	/** Extra `wrangler dev` arguments (e.g. `--var WATCHDOG_CONFIG:<file text>`, as a deploy passes it). */
	args?: readonly string[];
	/** Where the Durable Object's SQLite lives; a fresh temp dir by default. */
	persistTo?: string;
	/** Called with every line wrangler prints (for debugging a failing test). */
	onLine?: (line: string) => void;
	/** The port to listen on (dial-out agents must know it before the Worker starts); free by default. */
	port?: number;
}

/** dotenv text: single-quoted values are taken literally, so JSON passes through untouched. */
function envFileText(vars: Record<string, string>): string {
	return Object.entries(vars)
		.map(([k, v]) => {
			if (v.includes("'") || v.includes("\n")) {
				throw new Error(`${k}: a value for --env-file may not contain ' or a newline`);
			}
			return `${k}='${v}'`;
		})
		.join("\n");
}

export class WorkerDev {
	private child: ChildProcess | undefined;
	readonly log: string[] = [];
	port = 0;

	constructor(private readonly opts: WorkerDevOptions) {}

	get url(): string {
		return `http://127.0.0.1:${this.port}`;
	}

	/** The value of a var or secret as the next start passes it. */
	getVar(name: string): string | undefined {
		return this.opts.vars[name];
	}

	/** Changes a var or secret for the next start: stop, setVar, start is a redeploy with a new config. */
	setVar(name: string, value: string): void {
		this.opts.vars[name] = value;
	}

	async start(timeoutMs = 60_000): Promise<void> {
		// A restart (a redeploy) keeps the port: routes and agents point at it.
		// Reserved: wrangler listens only seconds after it is handed the port.
		this.port = this.opts.port ?? (this.port || (await reservePort()));
		const inspector = await reservePort();
		const persist = this.opts.persistTo ?? mkdtempSync(join(tmpdir(), "fg-worker-"));
		// Secrets and vars go through an env file: no shell, no quoting, nothing on the command line.
		const envFile = join(mkdtempSync(join(tmpdir(), "fg-env-")), ".env");
		writeFileSync(envFile, envFileText(this.opts.vars), { mode: 0o600 });
		const bin = join(ROOT, "node_modules", ".bin");
		this.child = spawn(
			join(bin, "wrangler"),
			[
				"dev",
				"--ip",
				"127.0.0.1",
				"--port",
				String(this.port),
				"--inspector-port",
				String(inspector),
				"--test-scheduled",
				"--persist-to",
				persist,
				"--env-file",
				envFile,
				"--show-interactive-dev-session=false",
				"--log-level",
				"warn",
				...(this.opts.args ?? []),
			],
			{
				cwd: ROOT,
				detached: true,
				stdio: ["ignore", "pipe", "pipe"],
				env: {
					...process.env,
					PATH: `${bin}:${process.env.PATH ?? ""}`,
					WRANGLER_SEND_METRICS: "false",
					// Each start compiles wrangler's 15 MB CLI again (about 1 s of CPU, measured): Node keeps
					// the compiled code here and reuses it while the file is unchanged.
					NODE_COMPILE_CACHE: join(ROOT, "node_modules", ".cache", "wrangler-compile-cache"),
					NO_COLOR: "1",
				},
			},
		);
		const collect = (buf: Buffer) => {
			for (const line of buf.toString("utf8").split("\n")) {
				if (!line.trim()) continue;
				this.log.push(line);
				this.opts.onLine?.(line);
			}
		};
		this.child.stdout?.on("data", collect);
		this.child.stderr?.on("data", collect);
		const exited = new Promise<never>((_, reject) =>
			this.child?.once("exit", (code) =>
				reject(new Error(`wrangler dev exited (${code}):\n${this.log.slice(-20).join("\n")}`)),
			),
		);
		exited.catch(() => {});
		await Promise.race([
			waitFor(
				"the local Worker to answer /healthz",
				async () => {
					const r = await fetch(`${this.url}/healthz`, { signal: AbortSignal.timeout(1000) });
					return r.status < 500 || r.status === 503;
				},
				timeoutMs,
				200,
			),
			exited,
		]);
	}

	/** Fires the cron trigger once, like Cloudflare would every minute. */
	async scheduled(): Promise<void> {
		const r = await fetch(`${this.url}/__scheduled?cron=*+*+*+*+*`);
		if (!r.ok) throw new Error(`/__scheduled answered ${r.status}`);
	}

	async api<T = unknown>(
		path: string,
		init: RequestInit & { token?: string } = {},
	): Promise<{ status: number; body: T }> {
		const headers = new Headers(init.headers);
		if (init.token) headers.set("authorization", `Bearer ${init.token}`);
		const r = await fetch(`${this.url}${path}`, {
			...init,
			headers,
			signal: AbortSignal.timeout(10_000),
		});
		const text = await r.text();
		let body: unknown = text;
		try {
			body = JSON.parse(text);
		} catch {}
		return { status: r.status, body: body as T };
	}

	async stop(): Promise<void> {
		const child = this.child;
		this.child = undefined;
		await stopGroup(child, "SIGTERM", 3_000); // The whole group: wrangler and its workerd.
	}
}
