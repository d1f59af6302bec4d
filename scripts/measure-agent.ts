// Measures the bundled agent per transport (HTTP, and dial-out to a stand-in Worker): signed GET /v1/status round trips on loopback, and idle RSS.
// RSS is read 3 s after start (dial-out: after the welcome), 5 s after the requests, and 20 s after them.
// Dial-out runs over wss:// with a certificate made by openssl (--plain-ws: ws://, no openssl needed).
// Run: npm run measure:agent -- [--role standby|primary] [--no-replication] [--transport http|dial-out|both] [--plain-ws] [--settle-s S] [--bundle FILE] [--requests N] [--json FILE] [--node PATH] [--node-flags="FLAGS" | --no-unit-flags]
// By default the agent runs with the node flags of agent/systemd/failover-agent.service's ExecStart,
// so the figure is the one a VPS sees.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
	agentFingerprint,
	DIAL_OUT_PATH,
	generateKeyPair,
	HelloFrameSchema,
	importPublicKey,
	MAX_FRAME_BYTES,
	newChallenge,
	ROUTES,
	signRequest,
	verifyHello,
} from "../protocol";
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
		/** A bundle built elsewhere (e.g. from an older commit, for a before/after) instead of building this tree's. */
		bundle: { type: "string" },
		/** Seconds between the "after requests" sample and the "settled" one (default 15: 20 s after the requests). */
		"settle-s": { type: "string", default: "15" },
		/** Dial-out over plain ws:// instead of wss:// (TLS with a self-signed CA the agent trusts through NODE_EXTRA_CA_CERTS). */
		"plain-ws": { type: "boolean", default: false },
		/** Which transport to measure: http, dial-out or both (one after the other, each its own agent). */
		transport: { type: "string", default: "both" },
		/** The side the agent plays: standby (peer probe of the primary) or primary (self-fencing on, probing the standby's host). */
		role: { type: "string", default: "standby" },
		/** Measure without workspace replication (a git repository and a local bare remote); the default has it on, as `init` deploys. */
		"no-replication": { type: "boolean", default: false },
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

/** What one transport's run measured. */
interface Measured {
	transport: "http" | "dial-out";
	roundTripMs: { median: number; p90: number; p99: number; min: number };
	/** VmRSS, MiB: 3 s after start (http) or after the welcome (dial-out), 5 s after the requests, 20 s after them. */
	idleRssMiB: { afterStart: number; afterRequests: number; settled: number };
	idleRssAnonMiB: { afterStart: number; afterRequests: number; settled: number };
	note: string;
}

const mib = (kib: number) => Number((kib / 1024).toFixed(1));

function roundTrips(samples: number[]): Measured["roundTripMs"] {
	samples.sort((a, b) => a - b);
	return {
		median: Number(percentile(samples, 50).toFixed(3)),
		p90: Number(percentile(samples, 90).toFixed(3)),
		p99: Number(percentile(samples, 99).toFixed(3)),
		min: Number((samples[0] ?? Number.NaN).toFixed(3)),
	};
}

/**
 * Samples RSS 3 s after `started`, runs 50 warm-up and `requests` measured calls, then samples 5 s and
 * 20 s after them (V8's memory reducer shrinks the heap some 10 to 15 s after the allocation rate
 * drops: the figure of an agent that answers one request per probe interval).
 */
async function measureRun(
	pid: number,
	call: () => Promise<void>,
): Promise<Pick<Measured, "roundTripMs" | "idleRssMiB" | "idleRssAnonMiB">> {
	await sleep(3_000);
	const start = await rssKiB(pid);
	for (let i = 0; i < 50; i++) await call(); // warm-up: JIT, keep-alive connection
	const samples: number[] = [];
	for (let i = 0; i < requests; i++) {
		const t0 = performance.now();
		await call();
		samples.push(performance.now() - t0);
	}
	await sleep(5_000);
	const after = await rssKiB(pid);
	await sleep(Number(values["settle-s"]) * 1000);
	const settled = await rssKiB(pid);
	return {
		roundTripMs: roundTrips(samples),
		idleRssMiB: {
			afterStart: mib(start.rss),
			afterRequests: mib(after.rss),
			settled: mib(settled.rss),
		},
		idleRssAnonMiB: {
			afterStart: mib(start.anon),
			afterRequests: mib(after.anon),
			settled: mib(settled.anon),
		},
	};
}

/** The measured agent's fixed parts: keys, a config (without the transport) and the stand-in gateways. */
interface Setup {
	dir: string;
	bundle: string;
	keys: Awaited<ReturnType<typeof generateKeyPair>>;
	agentPublicKey: CryptoKey;
	audience: { pair: string; side: "standby" | "primary"; agent: string };
	/** What the run measured beyond the transport: the side and whether replication ran. */
	shape: string;
	config: Record<string, unknown>;
	nodeFlags: string[];
	nodeBinary: string;
}

async function startAgent(
	setup: Setup,
	name: string,
	extra: Record<string, unknown>,
	env: Record<string, string> = {},
) {
	const configFile = join(setup.dir, `${name}.json`);
	await writeFile(
		configFile,
		JSON.stringify({ ...setup.config, stateDir: join(setup.dir, `state-${name}`), ...extra }),
	);
	const child: ChildProcess = spawn(
		setup.nodeBinary,
		[...setup.nodeFlags, setup.bundle, "serve", "--config", configFile],
		{ stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, ...env } },
	);
	const port = await listeningPort(child);
	return { child, port };
}

async function stopAgent(child: ChildProcess): Promise<void> {
	if (child.exitCode !== null) return;
	const exited = new Promise((r) => child.once("exit", r));
	child.kill("SIGTERM");
	await Promise.race([exited, sleep(5_000)]);
}

/** The HTTP transport: signed GET /v1/status over loopback with keep-alive. */
async function measureHttp(setup: Setup): Promise<Measured> {
	const { child, port } = await startAgent(setup, "http", {});
	try {
		const base = `http://127.0.0.1:${port}`;
		const call = async () => {
			const headers = await signRequest({
				method: "GET",
				path: ROUTES.status,
				audience: setup.audience,
				privateKey: setup.keys.privateKey,
			});
			const res = await fetch(`${base}${ROUTES.status}`, {
				headers,
				signal: AbortSignal.timeout(5_000),
			});
			if (res.status !== 200) throw new Error(`status ${res.status}: ${await res.text()}`);
			await res.json();
		};
		return {
			transport: "http",
			...(await measureRun(child.pid ?? 0, call)),
			note: `signed GET /v1/status over loopback with keep-alive; includes signing, the nonce-cache fsync and the local readiness probe; ${setup.shape}`,
		};
	} finally {
		await stopAgent(child);
	}
}

/**
 * A self-signed certificate for 127.0.0.1 (openssl, P-256, one day), so the dial-out runs over TLS
 * as on a VPS: the TLS context and the CA store are part of a real agent's memory.
 */
async function selfSignedCert(
	dir: string,
): Promise<{ key: string; cert: string; certFile: string }> {
	const keyFile = join(dir, "tls.key");
	const certFile = join(dir, "tls.crt");
	const made = spawnSync(
		"openssl",
		[
			"req",
			"-x509",
			"-newkey",
			"ec",
			"-pkeyopt",
			"ec_paramgen_curve:prime256v1",
			"-nodes",
			"-days",
			"1",
			"-subj",
			"/CN=127.0.0.1",
			"-addext",
			"subjectAltName=IP:127.0.0.1",
			"-keyout",
			keyFile,
			"-out",
			certFile,
		],
		{ encoding: "utf8" },
	);
	if (made.status !== 0)
		throw new Error(
			`openssl could not make a test certificate (--plain-ws runs without TLS): ${made.stderr}`,
		);
	return { key: await readFile(keyFile, "utf8"), cert: await readFile(certFile, "utf8"), certFile };
}

// The stand-in Worker's pace: the default probeIntervalSeconds (5 s, worker/src/config.ts), so a
// tick every 5 s and a status push every 2.5 s (heartbeatMs(): half the probe interval).
const TICK_MS = 5_000;
const HEARTBEAT_MS = 2_500;

/**
 * The dial-out transport against a stand-in Worker on 127.0.0.1 (ws's WebSocketServer) that speaks
 * the Worker's side of protocol/dial-out.ts: challenge, verified hello, welcome, a tick every
 * probe interval, and signed request frames (GET /v1/status) answered by response frames.
 */
async function measureDialOut(setup: Setup): Promise<Measured> {
	const { WebSocketServer } = await import("ws");
	const tls = values["plain-ws"] ? null : await selfSignedCert(setup.dir);
	const server = tls ? createHttpsServer(tls) : createServer();
	await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
	const wss = new WebSocketServer({
		server,
		path: DIAL_OUT_PATH,
		maxPayload: MAX_FRAME_BYTES,
		perMessageDeflate: false,
	});
	const wsPort = (server.address() as AddressInfo).port;
	let welcomed: () => void = () => {};
	const welcome = new Promise<void>((r) => {
		welcomed = r;
	});
	const pending = new Map<number, (frame: { status: number; body: string }) => void>();
	let socket: import("ws").WebSocket | null = null;
	let statusPushes = 0;
	let ticks = 0;
	const tickTimer = setInterval(() => {
		if (socket?.readyState !== 1) return;
		ticks += 1;
		socket.send(JSON.stringify({ t: "tick", serverTime: Date.now(), lease: null }));
	}, TICK_MS);
	wss.on("connection", (ws, req) => {
		const query = new URL(req.url ?? "/", "http://x").searchParams;
		const challenge = newChallenge();
		ws.send(JSON.stringify({ t: "challenge", challenge, serverTime: Date.now() }));
		ws.on("message", (data) => {
			const frame = JSON.parse(String(data)) as {
				t: string;
				id?: number;
				status?: number;
				body?: string;
			};
			if (frame.t === "hello") {
				const hello = HelloFrameSchema.parse(frame);
				void verifyHello({
					hello,
					challenge,
					pair: query.get("pair") ?? "",
					side: query.get("side") ?? "",
					publicKey: setup.agentPublicKey,
					now: Date.now(),
				}).then((verdict) => {
					if (!verdict.ok) {
						ws.close(verdict.code, verdict.message);
						return;
					}
					socket = ws;
					ws.send(
						JSON.stringify({
							t: "welcome",
							pair: hello.pair,
							side: hello.side,
							heartbeatMs: HEARTBEAT_MS,
							serverTime: Date.now(),
						}),
					);
					welcomed();
				});
			} else if (frame.t === "status") {
				statusPushes += 1;
			} else if (frame.t === "response" && frame.id !== undefined) {
				pending.get(frame.id)?.({ status: frame.status ?? 0, body: frame.body ?? "" });
				pending.delete(frame.id);
			}
		});
	});
	const { child } = await startAgent(
		setup,
		"dial-out",
		{ watchdogUrl: `${tls ? "https" : "http"}://127.0.0.1:${wsPort}` },
		// The agent verifies the stand-in's certificate as it would the Worker's: trusted as an extra CA.
		tls ? { NODE_EXTRA_CA_CERTS: tls.certFile } : {},
	);
	try {
		await Promise.race([
			welcome,
			sleep(15_000).then(() => {
				throw new Error("the agent did not connect to the stand-in Worker");
			}),
		]);
		let nextId = 1;
		const call = async () => {
			const headers = await signRequest({
				method: "GET",
				path: ROUTES.status,
				audience: setup.audience,
				privateKey: setup.keys.privateKey,
			});
			const id = nextId++;
			const answered = new Promise<{ status: number; body: string }>((resolve, reject) => {
				pending.set(id, resolve);
				setTimeout(() => reject(new Error(`no response frame for request ${id}`)), 5_000).unref();
			});
			socket?.send(
				JSON.stringify({
					t: "request",
					id,
					method: "GET",
					path: ROUTES.status,
					headers,
					body: null,
				}),
			);
			const res = await answered;
			if (res.status !== 200) throw new Error(`status ${res.status}: ${res.body}`);
			JSON.parse(res.body);
		};
		const measured = await measureRun(child.pid ?? 0, call);
		return {
			transport: "dial-out",
			...measured,
			note: `signed GET /v1/status as request frames on the agent's WebSocket (${tls ? "wss, certificate verified" : "plain ws"}) to a stand-in Worker on loopback (a tick every ${TICK_MS / 1000} s, status pushed every ${HEARTBEAT_MS / 1000} s: ${ticks} ticks, ${statusPushes} pushes in this run); RSS 'afterStart' is 3 s after the welcome; ${setup.shape}`,
		};
	} finally {
		clearInterval(tickTimer);
		await stopAgent(child);
		for (const c of wss.clients) c.terminate();
		wss.close();
		server.closeAllConnections();
		server.close();
	}
}

/**
 * A workspace as `init` deploys it: a git repository with one commit, pushed to a bare remote
 * `origin` in the temp dir, so the agent's replication (commit/push on the primary, fetch on the
 * standby) runs against it. Throws with git's output when git fails.
 */
async function gitWorkspace(workspace: string, remote: string): Promise<void> {
	const git = (args: string[], cwd?: string) => {
		const ran = spawnSync("git", args, { cwd, encoding: "utf8" });
		if (ran.status !== 0) throw new Error(`git ${args.join(" ")}: ${ran.stderr}`);
	};
	git(["init", "-q", "--bare", "-b", "main", remote]);
	git(["init", "-q", "-b", "main", workspace]);
	await writeFile(join(workspace, "MEMORY.md"), "# memory\n");
	git(["-C", workspace, "add", "MEMORY.md"]);
	git([
		"-C",
		workspace,
		"-c",
		"user.name=measure",
		"-c",
		"user.email=m@localhost",
		"commit",
		"-q",
		"-m",
		"seed",
	]);
	git(["-C", workspace, "remote", "add", "origin", remote]);
	git(["-C", workspace, "push", "-q", "-u", "origin", "main"]);
}

async function main() {
	const dir = await mkdtemp(join(tmpdir(), "fg-measure-"));
	const bundle = values.bundle ?? join(dir, "agent.mjs");
	if (values.bundle === undefined) {
		const built = spawnSync(
			process.execPath,
			[join(root, "scripts/build-agent.mjs"), "--outfile", bundle],
			{ encoding: "utf8" },
		);
		if (built.status !== 0) throw new Error(built.stderr);
	}

	const keys = await generateKeyPair();
	const agentKeys = await generateKeyPair();
	const agentKeyFile = join(dir, "agent.key");
	await writeFile(agentKeyFile, `${agentKeys.privateKeyText}\n`, { mode: 0o600 });
	const primary = await readyServer();
	const local = await readyServer();
	const role = values.role;
	if (role !== "standby" && role !== "primary")
		throw new Error(`--role: expected standby or primary, got ${role}`);
	const replication = !values["no-replication"];
	const workspace = join(dir, "workspace");
	if (replication) await gitWorkspace(workspace, join(dir, "remote.git"));
	const nodeFlags =
		values["node-flags"] !== undefined
			? values["node-flags"].split(" ").filter(Boolean)
			: values["no-unit-flags"]
				? []
				: await unitNodeFlags();
	const nodeBinary = values.node ?? process.execPath;
	const setup: Setup = {
		dir,
		bundle,
		keys,
		agentPublicKey: await importPublicKey(agentKeys.publicKeyText),
		audience: {
			pair: "measure",
			side: role,
			agent: await agentFingerprint(agentKeys.publicKeyText),
		},
		config: {
			listen: { host: "127.0.0.1", port: 0 },
			pair: "measure",
			role,
			agentKeyFile,
			watchdogPublicKeys: [keys.publicKeyText],
			// The standby probes the primary's gateway; the primary fences, probing the standby's host.
			...(role === "standby"
				? { primaryReadyUrl: primary.url }
				: { fencing: { standbyUrl: primary.url } }),
			workspace: replication ? workspace : dir,
			...(replication ? { replication: { enabled: true, remote: "origin" } } : {}),
			gatewayUnit: { name: "openclaw-gateway.service", scope: "user" },
			localReadyUrl: local.url,
			logLevel: "info",
		},
		nodeFlags,
		nodeBinary,
		shape: `${role === "standby" ? "standby with its peer probe of the primary running" : "primary with self-fencing on"}, replication ${replication ? "on (a git workspace and a local bare remote, as init deploys)" : "off"}`,
	};
	const transports =
		values.transport === "both" ? (["http", "dial-out"] as const) : [values.transport];
	try {
		const runs: Measured[] = [];
		for (const t of transports) {
			if (t === "http") runs.push(await measureHttp(setup));
			else if (t === "dial-out") runs.push(await measureDialOut(setup));
			else throw new Error(`--transport: expected http, dial-out or both, got ${t}`);
		}
		const result = {
			role,
			replication,
			node: spawnSync(nodeBinary, ["--version"], { encoding: "utf8" }).stdout.trim(),
			nodeFlags,
			requests,
			runs,
		};
		process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
		if (values.json) await writeFile(values.json, `${JSON.stringify(result, null, 2)}\n`);
	} finally {
		primary.close();
		local.close();
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
