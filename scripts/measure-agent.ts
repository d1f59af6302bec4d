// Measures the bundled agent: median latency of a signed GET /v1/status on loopback, and its idle RSS
// (3 s after start, 5 s after the requests, and 20 s after them, once V8 has shrunk its heap).
// Run: npm run measure:agent -- [--requests N] [--json FILE] [--node PATH] [--node-flags="FLAGS" | --no-unit-flags]
// By default the agent runs with the node flags of agent/systemd/failover-agent.service's ExecStart,
// so the figure is the one a VPS sees.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { agentFingerprint, generateKeyPair, ROUTES, signRequest } from "../protocol";
import { projectRoot } from "../test/harness/root";

const root = projectRoot();

const { values } = parseArgs({
	options: {
		requests: { type: "string", default: "500" },
		json: { type: "string" },
		/** Node flags for the agent instead of the unit's, e.g. --node-flags="--max-semi-space-size=1". */
		"node-flags": { type: "string" },
		/** The node binary that runs the agent (default: the one running this script). */
		node: { type: "string" },
		/** Run with no node flags at all (the "before" figure). */
		"no-unit-flags": { type: "boolean", default: false },
	},
	strict: true,
});
const requests = Number(values.requests);

/** A stand-in OpenClaw gateway answering /readyz 200, for the standby's peer probe and gatewayActive. */
async function readyServer(): Promise<{ url: string; close: () => void }> {
	const server = createServer((_req, res) => {
		res.writeHead(200, { "content-type": "application/json" });
		res.end('{"ready":true}');
	});
	await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
	return {
		url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/readyz`,
		close: () => {
			server.closeAllConnections();
			server.close();
		},
	};
}

/** The flags between the node binary and the bundle in the shipped unit's ExecStart. */
async function unitNodeFlags(): Promise<string[]> {
	const unit = await readFile(join(root, "agent/systemd/failover-agent.service"), "utf8");
	const execStart = /^ExecStart=(\S+)\s+(.*)$/m.exec(unit);
	if (execStart?.[2] === undefined) throw new Error("no ExecStart= in the unit");
	const words = execStart[2].split(/\s+/);
	return words.slice(
		0,
		words.findIndex((w) => w.endsWith("agent.mjs")),
	);
}

/**
 * VmRSS (all resident pages) and RssAnon (the process's private memory: heap, stacks, malloc), KiB,
 * from /proc. The difference is mostly file-backed pages of the node binary, shared with any other
 * process running the same binary (on a VPS, typically the OpenClaw gateway) and reclaimable.
 */
async function rssKiB(pid: number): Promise<{ rss: number; anon: number }> {
	const status = await readFile(`/proc/${pid}/status`, "utf8");
	const field = (name: string) =>
		Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? Number.NaN);
	return { rss: field("VmRSS"), anon: field("RssAnon") };
}

function percentile(sorted: number[], p: number): number {
	return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main() {
	const dir = await mkdtemp(join(tmpdir(), "fg-measure-"));
	const bundle = join(dir, "agent.mjs");
	const built = spawnSync(
		process.execPath,
		[join(root, "scripts/build-agent.mjs"), "--outfile", bundle],
		{ encoding: "utf8" },
	);
	if (built.status !== 0) throw new Error(built.stderr);

	const keys = await generateKeyPair();
	const agentKeys = await generateKeyPair();
	const agentKeyFile = join(dir, "agent.key");
	await writeFile(agentKeyFile, `${agentKeys.privateKeyText}\n`, { mode: 0o600 });
	const audience = {
		pair: "measure",
		side: "standby" as const,
		agent: await agentFingerprint(agentKeys.publicKeyText),
	};
	const primary = await readyServer();
	const local = await readyServer();
	const configFile = join(dir, "agent.json");
	await writeFile(
		configFile,
		JSON.stringify({
			listen: { host: "127.0.0.1", port: 0 },
			pair: audience.pair,
			role: "standby",
			agentKeyFile,
			watchdogPublicKeys: [keys.publicKeyText],
			primaryReadyUrl: primary.url,
			workspace: dir,
			gatewayUnit: { name: "openclaw-gateway.service", scope: "user" },
			localReadyUrl: local.url,
			stateDir: join(dir, "state"),
			logLevel: "info",
		}),
	);

	const nodeFlags =
		values["node-flags"] !== undefined
			? values["node-flags"].split(" ").filter(Boolean)
			: values["no-unit-flags"]
				? []
				: await unitNodeFlags();
	const nodeBinary = values.node ?? process.execPath;
	const child: ChildProcess = spawn(
		nodeBinary,
		[...nodeFlags, bundle, "serve", "--config", configFile],
		{
			stdio: ["ignore", "pipe", "inherit"],
		},
	);
	try {
		const port = await listeningPort(child);
		const base = `http://127.0.0.1:${port}`;

		await sleep(3_000);
		const idleBefore = await rssKiB(child.pid ?? 0);

		const call = async () => {
			const headers = await signRequest({
				method: "GET",
				path: ROUTES.status,
				audience,
				privateKey: keys.privateKey,
			});
			const res = await fetch(`${base}${ROUTES.status}`, {
				headers,
				signal: AbortSignal.timeout(5_000),
			});
			if (res.status !== 200) throw new Error(`status ${res.status}: ${await res.text()}`);
			await res.json();
		};
		for (let i = 0; i < 50; i++) await call(); // warm-up: JIT, keep-alive connection
		const samples: number[] = [];
		for (let i = 0; i < requests; i++) {
			const t0 = performance.now();
			await call();
			samples.push(performance.now() - t0);
		}
		samples.sort((a, b) => a - b);

		await sleep(5_000);
		const idleAfter = await rssKiB(child.pid ?? 0);
		// And once V8's memory reducer has run (it shrinks the heap some 10 to 15 s after the
		// allocation rate drops): the figure of an agent that answers one status per probe interval.
		await sleep(15_000);
		const idleSettled = await rssKiB(child.pid ?? 0);

		const result = {
			node: spawnSync(nodeBinary, ["--version"], { encoding: "utf8" }).stdout.trim(),
			nodeFlags,
			requests,
			statusRoundTripMs: {
				median: Number(percentile(samples, 50).toFixed(3)),
				p90: Number(percentile(samples, 90).toFixed(3)),
				p99: Number(percentile(samples, 99).toFixed(3)),
				min: Number((samples[0] ?? Number.NaN).toFixed(3)),
			},
			idleRssMiB: {
				afterStart: Number((idleBefore.rss / 1024).toFixed(1)),
				afterRequests: Number((idleAfter.rss / 1024).toFixed(1)),
				settled: Number((idleSettled.rss / 1024).toFixed(1)),
			},
			idleRssAnonMiB: {
				afterStart: Number((idleBefore.anon / 1024).toFixed(1)),
				afterRequests: Number((idleAfter.anon / 1024).toFixed(1)),
				settled: Number((idleSettled.anon / 1024).toFixed(1)),
			},
			note: "signed GET /v1/status over loopback with keep-alive; includes signing, the nonce-cache fsync and the local readiness probe; standby with its peer probe running every 2 s",
		};
		process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
		if (values.json) await writeFile(values.json, `${JSON.stringify(result, null, 2)}\n`);
	} finally {
		child.kill("SIGTERM");
		primary.close();
		local.close();
		await sleep(300);
		await rm(dir, { recursive: true, force: true });
	}
}

/** The port from the agent's "agent listening" log line (JSON lines on stdout). */
function listeningPort(child: ChildProcess): Promise<number> {
	return new Promise((resolvePort, reject) => {
		let buffered = "";
		const timer = setTimeout(() => reject(new Error("the agent did not start listening")), 15_000);
		child.once("exit", (code) => reject(new Error(`the agent exited with ${code}`)));
		child.stdout?.on("data", (chunk: Buffer) => {
			buffered += chunk.toString();
			for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
				const entry = JSON.parse(buffered.slice(0, nl)) as { msg?: string; port?: number };
				buffered = buffered.slice(nl + 1);
				if (entry.msg === "agent listening" && entry.port !== undefined) {
					clearTimeout(timer);
					resolvePort(entry.port);
				}
			}
		});
	});
}

await main();
