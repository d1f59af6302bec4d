// Runs the bundled agent (dist build of agent/src/main.ts) as a real child process, for restart tests.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { onCleanup } from "./helpers";

const root = resolve(import.meta.dirname, "../..");

/**
 * Builds the single-file bundle into a temp dir, exactly as `npm run build:agent` does. Once per test
 * file (beforeAll), so it is not tied to one test's cleanup: the caller removes `dir` in afterAll.
 */
export async function buildBundle(): Promise<{ outfile: string; dir: string }> {
	const dir = await mkdtemp(join(tmpdir(), "fg-bundle-"));
	const outfile = join(dir, "agent.mjs");
	const built = spawnSync(
		process.execPath,
		[join(root, "scripts/build-agent.mjs"), "--outfile", outfile],
		{
			encoding: "utf8",
		},
	);
	if (built.status !== 0) throw new Error(`bundle build failed: ${built.stderr}`);
	return { outfile, dir };
}

export interface AgentProcess {
	child: ChildProcess;
	port: number;
	url: string;
	lines: string[];
	exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `node bundle serve --config FILE` and waits for its "agent listening" log line. */
export async function startAgentProcess(bundle: string, configFile: string): Promise<AgentProcess> {
	const child = spawn(process.execPath, [bundle, "serve", "--config", configFile], {
		stdio: ["ignore", "pipe", "pipe"],
	});
	const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
		child.once("exit", (code, signal) => r({ code, signal })),
	);
	onCleanup(async () => {
		if (child.exitCode === null && child.signalCode === null) {
			child.kill("SIGKILL");
			await exited;
		}
	});
	const lines: string[] = [];
	let stderr = "";
	child.stderr?.on("data", (chunk: Buffer) => {
		stderr += chunk.toString();
	});
	const port = await new Promise<number>((resolvePort, reject) => {
		let buffered = "";
		const timer = setTimeout(
			() => reject(new Error(`agent did not start: ${stderr}\n${lines.join("\n")}`)),
			20_000,
		);
		child.stdout?.on("data", (chunk: Buffer) => {
			buffered += chunk.toString();
			let newline = buffered.indexOf("\n");
			while (newline >= 0) {
				const line = buffered.slice(0, newline);
				buffered = buffered.slice(newline + 1);
				lines.push(line);
				const entry = JSON.parse(line) as { msg: string; port?: number };
				if (entry.msg === "agent listening" && entry.port !== undefined) {
					clearTimeout(timer);
					resolvePort(entry.port);
				}
				newline = buffered.indexOf("\n");
			}
		});
		void exited.then(({ code }) => {
			clearTimeout(timer);
			reject(new Error(`agent exited with ${code}: ${stderr}`));
		});
	});
	return { child, port, url: `http://127.0.0.1:${port}`, lines, exited };
}
