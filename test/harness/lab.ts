// The whole product on one machine: the real Worker in local workerd, real agent processes, stand-in gateways,
// a git workspace with a bare remote and a webhook receiver, all on loopback. Used by e2e tests, demo and bench.
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runOperatorCli } from "../../operator/src/cli";
import {
	type Audience,
	agentFingerprint,
	generateKeyPair,
	importPrivateKey,
	importPublicKey,
	keyId,
	publicKeyTextOf,
	ROUTES,
	type StatusResponse,
	signRequest,
} from "../../protocol";
import { AgentProcess } from "./agent-process";
import { BreakableProxy } from "./breakable-proxy";
import { ControlServer } from "./control-server";
import { FakeGateway } from "./fake-gateway";
import { FAKE_UNIT_FILE_ENV, writeFakeSystemctl } from "./fake-systemctl";
import { createWorkspaces, type Workspaces } from "./git-workspace";
import { reservePort, waitFor } from "./ports";
import { WebhookReceiver } from "./webhook-receiver";
import { WorkerDev } from "./worker-dev";

export const PAIR = "home";

/** How the lab's agents reach the watchdog (LabOptions.transport). */
export type LabTransport = "endpoint" | "dial-out";

/** The environment variable that picks the lab's transport for a whole run (e2e projects, bench). */
export const LAB_TRANSPORT_ENV = "FG_LAB_TRANSPORT";

/**
 * The transport a lab uses when its options name none: FG_LAB_TRANSPORT=dial-out|endpoint ("http" is
 * accepted for endpoint), unset = dial-out, the recommended deployment. A typo fails fast: a run that
 * silently fell back to the default would claim coverage it does not have.
 */
export function labTransportFromEnv(
	env: Record<string, string | undefined> = process.env,
): LabTransport {
	const v = env[LAB_TRANSPORT_ENV]?.trim();
	if (v === undefined || v === "" || v === "dial-out") return "dial-out";
	if (v === "endpoint" || v === "http") return "endpoint";
	throw new Error(`${LAB_TRANSPORT_ENV}: expected dial-out, endpoint or http, got "${v}"`);
}

export interface LabOptions {
	/** Probe interval, seconds (the product's default is 5; tests use 1). */
	intervalSeconds?: number;
	failThreshold?: number;
	recoverThreshold?: number;
	minActiveSeconds?: number;
	/** Continuous readiness before failback, seconds (the product's default is 120; the lab's 3). */
	recoverSeconds?: number;
	maxFailoversPerHour?: number;
	failback?: "auto" | "manual";
	/** Run an agent on the primary too, so failback ends with a sync (git pull there). */
	primaryAgent?: boolean;
	/**
	 * Set up as a new user would: `failover-gateway init --yes --local-dev` writes the key, the Worker
	 * config and the agent configs; the Worker runs with that config file (`--var`, as deployed) and
	 * those secrets, the agents with the produced configs plus what only a lab needs (its workspaces,
	 * state dirs and stand-in gateway control). Thresholds other than the interval are init's defaults.
	 */
	viaInit?: boolean;
	/** Called with every log line of every process, prefixed by its source. */
	onLine?: (source: string, line: string) => void;
	/** More fields for the pair's config (e.g. the judge's start grace), merged over the lab's. */
	pairExtra?: Record<string, unknown>;
	/**
	 * How the agents reach the watchdog: "endpoint" (the Worker calls their HTTP ports) or "dial-out"
	 * (each agent keeps a WebSocket to the Worker, reached through its own breakable route, and the
	 * Worker's config names no agent URL at all). Default: FG_LAB_TRANSPORT, else dial-out
	 * (labTransportFromEnv).
	 */
	transport?: LabTransport;
	/**
	 * Workspace replication on both agents (off by default, as in the product): each agent's
	 * `replication` section gets `enabled: true` plus these fields, and the actions become the
	 * product's defaults for a replicated workspace (promote and sync by `git-sync`, a real merge).
	 */
	replication?: { replicateIntervalSeconds: number; settleSeconds?: number };
}

export interface PairEventView {
	kind: string;
	severity: string;
	at: number;
	from: string;
	to: string;
	term: number;
	summary: string;
	evidence: { witness: string; saw: string }[];
	seq?: number;
}

export interface PairView {
	state: string | null;
	active: string | null;
	term: number | null;
	reason: string | null;
	pairState: {
		fails: number;
		oks: number;
		pending: { action: string; opId: string } | null;
		lastDrill?: { ok?: boolean; outcome?: string } | null;
	} | null;
	witnesses: {
		standby: {
			summary: string;
			view?: { gateway?: { state: string; failing: string[] } | null } | null;
		};
		primaryAgent?: {
			configured: boolean;
			summary: string;
			view: {
				reachable: boolean;
				gateway?: { state: string; failing: string[]; detail: string } | null;
				maintenanceUntil?: number | null;
			} | null;
		};
	};
	notifications: {
		notifiers: string[];
		last: Record<string, { ok: boolean; attempts: number; error?: string }>;
		outbox: { waiting: number; critical: number; oldestAt?: number; nextAt?: number };
	};
}

export class Lab {
	readonly root: string;
	readonly ws: Workspaces;
	readonly primaryGw: FakeGateway;
	readonly standbyGw: FakeGateway;
	/** The Worker's route to the primary. */
	readonly proxy: BreakableProxy;
	/** The standby agent's route to the primary (break it for a standby-only partition). */
	readonly standbyRoute: BreakableProxy;
	readonly control: ControlServer;
	readonly webhook = new WebhookReceiver();
	/**
	 * Random per lab, as `openssl rand -base64 32` would make it: the Worker refuses a short or
	 * predictable one. With viaInit: the one init generated.
	 */
	adminToken = randomBytes(32).toString("base64");
	readonly webhookSecret = "lab-webhook-secret-0123456789";
	standbyAgent!: AgentProcess;
	/** Dial-out only: each agent's route to the Worker (break one to cut that agent off the watchdog). */
	uplinks: { primary: BreakableProxy; standby: BreakableProxy } | undefined;
	/** Endpoint only: the Worker's route to each agent's port (break one to cut that agent off the watchdog). */
	agentRoutes: { primary: BreakableProxy; standby: BreakableProxy } | undefined;
	/**
	 * Each agent's link with the watchdog on either transport: its uplink (dial-out) or the Worker's
	 * route to its port (endpoint). Breaking one means the same on both: that agent and the watchdog
	 * cannot talk. Their `requests` are the Worker's subrequests to the agents (endpoint) or the
	 * agents' WebSocket upgrades (dial-out).
	 */
	get agentLinks(): { primary: BreakableProxy; standby: BreakableProxy } {
		const links = this.uplinks ?? this.agentRoutes;
		if (!links) throw new Error("this lab has no agent links (viaInit labs do not route agents)");
		return links;
	}
	/** Dial-out only: the primary agent's route to the standby's host (its fence asks it). */
	crossRoute: BreakableProxy | undefined;
	primaryAgent: AgentProcess | undefined;
	worker!: WorkerDev;
	/** The watchdog's signing keys (the Worker holds the private one, the agents the public one). */
	keys!: Awaited<ReturnType<typeof generateKeyPair>>;
	/** Each agent's own key pair (the agent holds the private one, the Worker's config the public one). */
	agentKeys!: Record<"primary" | "standby", Awaited<ReturnType<typeof generateKeyPair>>>;
	readonly interval: number;
	/** With viaInit: init's output folder and what it printed. */
	initDir: string | undefined;
	initOutput = "";
	/**
	 * How long a decided promotion waits before the promote goes out, ms: with self-fencing (the lab's
	 * dial-out config) the primary's lease plus the fence margin, so an isolated primary stops first;
	 * 0 without fencing. Bounds on "standby ready" add it.
	 */
	get fenceWaitMs(): number {
		const extra = this.opts.pairExtra ?? {};
		if ((extra.fencing ?? (this.opts.transport === "dial-out" ? "self" : "off")) !== "self")
			return 0;
		if (!this.opts.primaryAgent) return 0;
		const lease = Number(extra.leaseSeconds ?? 3 * this.opts.intervalSeconds);
		const margin = Number(extra.fenceMarginSeconds ?? 5);
		return (lease + margin) * 1000;
	}

	/** How this lab's agents reach the watchdog (LabOptions.transport). */
	get transport(): LabTransport {
		return this.opts.transport;
	}
	private readonly opts: Required<Omit<LabOptions, "onLine" | "pairExtra" | "replication">> &
		Pick<LabOptions, "onLine" | "pairExtra" | "replication">;
	/** Folder of the fake `systemctl` the agents find first on their PATH. */
	private readonly binDir: string;

	private constructor(opts: LabOptions, ports: { primary: number; standby: number }) {
		this.opts = {
			intervalSeconds: 1,
			failThreshold: 3,
			recoverThreshold: 3,
			minActiveSeconds: 3,
			recoverSeconds: 3,
			maxFailoversPerHour: 3,
			failback: "auto",
			primaryAgent: true,
			transport: labTransportFromEnv(),
			viaInit: false,
			...opts,
		};
		this.interval = this.opts.intervalSeconds * 1000;
		this.root = mkdtempSync(join(tmpdir(), "fg-lab-"));
		this.ws = createWorkspaces(this.root);
		// Each gateway keeps its unit's `systemctl show` output in a file its agent's fake systemctl prints.
		this.binDir = writeFakeSystemctl(join(this.root, "bin"));
		this.primaryGw = new FakeGateway("primary", ports.primary, join(this.root, "primary.unit"));
		this.standbyGw = new FakeGateway("standby", ports.standby, join(this.root, "standby.unit"));
		this.proxy = new BreakableProxy({ host: "127.0.0.1", port: ports.primary });
		this.standbyRoute = new BreakableProxy({ host: "127.0.0.1", port: ports.primary });
		this.control = new ControlServer({ primary: this.primaryGw, standby: this.standbyGw });
	}

	/** The audience a request to this side's agent must be signed for. */
	async audience(side: "primary" | "standby"): Promise<Audience> {
		return { pair: PAIR, side, agent: await agentFingerprint(this.agentKeys[side].publicKeyText) };
	}

	static async create(opts: LabOptions = {}): Promise<Lab> {
		// Reserved: the standby's gateway listens only once promoted, maybe minutes later.
		const lab = new Lab(opts, { primary: await reservePort(), standby: await reservePort() });
		try {
			await lab.boot();
		} catch (e) {
			await lab.stop();
			throw e;
		}
		return lab;
	}

	private line(source: string): (l: string) => void {
		return (l) => this.opts.onLine?.(source, l);
	}

	private async boot(): Promise<void> {
		if (this.opts.viaInit) return this.bootViaInit();
		const o = this.opts;
		const keys = await generateKeyPair();
		this.keys = keys;
		this.agentKeys = { primary: await generateKeyPair(), standby: await generateKeyPair() };
		// As failover-agent keygen --agent writes them: one private key file per agent, mode 0600.
		const keyFile = (side: "primary" | "standby") => {
			const file = join(this.root, `${side}-agent.key`);
			writeFileSync(file, `${this.agentKeys[side].privateKeyText}\n`, { mode: 0o600 });
			return file;
		};
		await this.primaryGw.start();
		await this.proxy.start();
		await this.standbyRoute.start();
		await this.control.start();
		await this.webhook.start();
		// Dial-out: each agent reaches the Worker through its own route, so a test can cut one agent off
		// the watchdog. Routes are bound now and pointed at what is behind them once that is up (ports
		// reserved ahead of a start that takes seconds could be taken by another lab meanwhile).
		const dialOut = o.transport === "dial-out";
		if (dialOut) {
			this.uplinks = {
				primary: new BreakableProxy({ host: "127.0.0.1", port: 0 }),
				standby: new BreakableProxy({ host: "127.0.0.1", port: 0 }),
			};
			await this.uplinks.primary.start();
			await this.uplinks.standby.start();
		}
		const watchdogUrl = (side: "primary" | "standby") =>
			this.uplinks ? { watchdogUrl: this.uplinks[side].url } : {};
		// The standby agent probes the primary often enough that every Worker tick sees a fresh view.
		const peerInterval = Math.max(200, Math.floor(this.interval / 4));
		// Each agent checks its own gateway twice per tick, so every tick reads a report under one interval old.
		const localProbe = {
			intervalMs: Math.max(200, Math.floor(this.interval / 2)),
			timeoutMs: Math.min(1000, Math.max(100, Math.floor(this.interval / 2))),
		};
		const agentEnv = (gw: FakeGateway) => ({
			PATH: `${this.binDir}:${process.env.PATH ?? ""}`,
			[FAKE_UNIT_FILE_ENV]: gw.unitFile ?? "",
		});
		this.standbyAgent = new AgentProcess(
			"standby",
			this.root,
			{
				pair: PAIR,
				role: "standby",
				agentKeyFile: keyFile("standby"),
				watchdogPublicKeys: [keys.publicKeyText],
				primaryReadyUrl: `${this.standbyRoute.url}/readyz`,
				peerProbe: { intervalMs: peerInterval, timeoutMs: Math.min(peerInterval, 1500) },
				workspace: this.ws.standby,
				gatewayUnit: { name: "openclaw-gateway.service", scope: "user" },
				localReadyUrl: this.standbyGw.readyUrl,
				localProbe,
				...watchdogUrl("standby"),
				actions: this.standbyActions(),
				...this.replicationFields(),
				stateDir: join(this.root, "standby-state"),
				logLevel: "info",
			},
			this.line("standby-agent"),
			agentEnv(this.standbyGw),
		);
		if (dialOut) {
			// The primary's fence checks the standby's host over "the tailnet": here the standby agent's
			// port, known once it has started (until then the route refuses, which proves the host up).
			this.crossRoute = new BreakableProxy({ host: "127.0.0.1", port: 0 });
			await this.crossRoute.start();
		}
		const fencing = this.crossRoute
			? {
					fencing: {
						standbyUrl: `${this.crossRoute.url}/healthz`,
						stop: [{ type: "exec", argv: this.control.execArgv("stop", "primary") }],
						start: [{ type: "exec", argv: this.control.execArgv("start", "primary") }],
					},
				}
			: {};
		if (o.primaryAgent) {
			this.primaryAgent = new AgentProcess(
				"primary",
				this.root,
				{
					pair: PAIR,
					role: "primary",
					agentKeyFile: keyFile("primary"),
					watchdogPublicKeys: [keys.publicKeyText],
					workspace: this.ws.primary,
					gatewayUnit: { name: "openclaw-gateway.service", scope: "user" },
					localReadyUrl: this.primaryGw.readyUrl,
					localProbe,
					...watchdogUrl("primary"),
					...fencing,
					actions: { promote: [], demote: [], sync: [{ type: this.pullStep() }] },
					...this.replicationFields(),
					stateDir: join(this.root, "primary-state"),
					logLevel: "info",
				},
				this.line("primary-agent"),
				agentEnv(this.primaryGw),
			);
		}
		if (!dialOut) {
			this.agentRoutes = {
				primary: new BreakableProxy({ host: "127.0.0.1", port: 0 }),
				standby: new BreakableProxy({ host: "127.0.0.1", port: 0 }),
			};
			await this.agentRoutes.primary.start();
			await this.agentRoutes.standby.start();
		}
		const agentUrl = (side: "primary" | "standby") =>
			this.agentRoutes ? { agentUrl: this.agentRoutes[side].url } : {};
		const pair = {
			name: PAIR,
			primary: {
				// The Worker and the standby each reach the primary through their own breakable route.
				readyUrl: `${this.proxy.url}/readyz`,
				...(this.primaryAgent
					? {
							...agentUrl("primary"),
							agentPublicKey: this.agentKeys.primary.publicKeyText,
						}
					: {}),
			},
			standby: {
				...agentUrl("standby"),
				agentPublicKey: this.agentKeys.standby.publicKeyText,
			},
			probeIntervalSeconds: o.intervalSeconds,
			probeTimeoutMs: Math.min(2500, Math.floor(this.interval * 0.6)),
			failThreshold: o.failThreshold,
			recoverThreshold: o.recoverThreshold,
			minActiveSeconds: o.minActiveSeconds,
			recoverSeconds: o.recoverSeconds,
			maxFailoversPerHour: o.maxFailoversPerHour,
			failback: o.failback,
			commandTimeoutMs: Math.max(500, Math.min(4000, this.interval)),
			// Self-fencing where the lab gives the primary a fence (dial-out): a lease of three ticks keeps
			// the wait short, and the product's default 5 s margin holds even on a loaded machine (the
			// lab's fence stops its gateway through a spawned process); elsewhere no agent fences.
			...(dialOut
				? { fencing: "self", leaseSeconds: 3 * o.intervalSeconds, fenceMarginSeconds: 5 }
				: { fencing: "off" }),
			...o.pairExtra,
		};
		this.worker = new WorkerDev({
			vars: {
				WATCHDOG_CONFIG: JSON.stringify({ pairs: [pair] }),
				// The lab runs on loopback over plain http: allowed only in local development.
				LOCAL_DEVELOPMENT: "1",
				ADMIN_TOKEN: this.adminToken,
				WATCHDOG_PRIVATE_KEY: keys.privateKeyText,
				NOTIFY_WEBHOOK_URL: this.webhook.url,
				NOTIFY_WEBHOOK_SECRET: this.webhookSecret,
			},
			persistTo: join(this.root, "worker-state"),
			onLine: this.line("worker"),
		});
		const agents = async () => {
			await Promise.all([this.standbyAgent.start(), this.primaryAgent?.start()]);
			this.crossRoute?.retarget(this.standbyAgent.port);
			this.agentRoutes?.standby.retarget(this.standbyAgent.port);
			if (this.primaryAgent) this.agentRoutes?.primary.retarget(this.primaryAgent.port);
		};
		if (dialOut) {
			// The Worker first: agents that dialled a Worker still starting would back off for seconds
			// (jittered, growing), and the lab would wait for their next attempt.
			await this.worker.start();
			this.uplinks?.primary.retarget(this.worker.port);
			this.uplinks?.standby.retarget(this.worker.port);
			await agents();
		} else {
			// The Worker calls the agents only from its alarm, armed below: both can start at once.
			await Promise.all([this.worker.start(), agents()]);
		}
		// What Cloudflare's cron does within a minute of deploy: arm the Durable Object's alarm.
		await this.worker.scheduled();
		await this.waitForState("primary-active", 10 * this.interval + 10_000);
		if (dialOut) {
			await this.waitForDialOut();
			// Two ticks over the new sockets: the primary's agent now holds a lease, as in a deployment
			// that has been running (before its first one, it fences on the protocol's default length).
			await this.waitForTicks(2);
		}
	}

	/** Until the Worker has ticked `n` more times (read from the pair's lastTickAt). */
	async waitForTicks(n: number): Promise<void> {
		const tickAt = async () =>
			(
				await this.worker.api<{ lastTickAt: number | null }>(`/api/v1/pairs/${PAIR}`, {
					token: this.adminToken,
				})
			).body.lastTickAt ?? 0;
		let last = await tickAt();
		for (let seen = 0; seen < n; ) {
			await waitFor("a tick", async () => (await tickAt()) > last, 10 * this.interval + 5_000, 50);
			last = await tickAt();
			seen += 1;
		}
	}

	/** How a side takes the remote's work: a fast-forward pull, or with replication the merging git-sync. */
	private pullStep(): "git-pull" | "git-sync" {
		return this.opts.replication ? "git-sync" : "git-pull";
	}

	/** The standby's actions: start/stop the stand-in gateway around the git steps. */
	private standbyActions(): Record<string, unknown> {
		return {
			promote: [
				{ type: this.pullStep() },
				{ type: "exec", argv: this.control.execArgv("start", "standby") },
				{ type: "wait-ready", intervalMs: 100, timeoutMs: 15_000 },
			],
			demote: [
				{ type: "exec", argv: this.control.execArgv("stop", "standby") },
				{ type: "git-push" },
			],
			sync: [{ type: this.pullStep() }],
		};
	}

	/** The agents' `replication` section when the lab replicates; nothing otherwise (the product's default: off). */
	private replicationFields(): Record<string, unknown> {
		const r = this.opts.replication;
		return r ? { replication: { enabled: true, ...r } } : {};
	}

	/**
	 * One side's agent status (GET /v1/status, signed as the watchdog signs it, without a lease): what
	 * its replication reports, its last operation and that operation's step output.
	 */
	async agentStatus(side: "primary" | "standby"): Promise<StatusResponse> {
		const agent = side === "primary" ? this.primaryAgent : this.standbyAgent;
		if (!agent?.running) throw new Error(`the ${side} agent is not running`);
		const headers = await signRequest({
			method: "GET",
			path: ROUTES.status,
			privateKey: this.keys.privateKey,
			audience: await this.audience(side),
		});
		const r = await fetch(`${agent.url}${ROUTES.status}`, {
			headers,
			signal: AbortSignal.timeout(5_000),
		});
		if (r.status !== 200) throw new Error(`GET status of the ${side} agent answered ${r.status}`);
		return (await r.json()) as StatusResponse;
	}

	/** Both agents connected over dial-out (they redial with backoff until the Worker is up). */
	async waitForDialOut(timeoutMs = 30_000): Promise<void> {
		await waitFor(
			"both agents dialled out",
			async () => {
				const p = await this.pair();
				const c = (p as unknown as { connections?: Record<string, { connected: boolean }> })
					.connections;
				return Boolean(c?.standby?.connected && (!this.primaryAgent || c?.primary?.connected));
			},
			timeoutMs,
			200,
		);
	}

	/** The lab's actions for one side: start/stop the stand-in gateway, git pull/push the workspace. */
	private labAgentFields(side: "primary" | "standby"): Record<string, unknown> {
		const peerInterval = Math.max(200, Math.floor(this.interval / 4));
		const common = {
			workspace: side === "primary" ? this.ws.primary : this.ws.standby,
			localReadyUrl: side === "primary" ? this.primaryGw.readyUrl : this.standbyGw.readyUrl,
			stateDir: join(this.root, `${side}-state`),
			logLevel: "info",
		};
		if (side === "primary") {
			return { ...common, actions: { promote: [], demote: [], sync: [{ type: "git-pull" }] } };
		}
		return {
			...common,
			peerProbe: { intervalMs: peerInterval, timeoutMs: Math.min(peerInterval, 1500) },
			actions: {
				promote: [
					{ type: "git-pull" },
					{ type: "exec", argv: this.control.execArgv("start", "standby") },
					{ type: "wait-ready", intervalMs: 100, timeoutMs: 15_000 },
				],
				demote: [
					{ type: "exec", argv: this.control.execArgv("stop", "standby") },
					{ type: "git-push" },
				],
				sync: [{ type: "git-pull" }],
			},
		};
	}

	private async bootViaInit(): Promise<void> {
		await this.primaryGw.start();
		await this.proxy.start();
		await this.standbyRoute.start();
		await this.control.start();
		await this.webhook.start();
		const ports = { standby: await reservePort(), primary: await reservePort() };
		const agentUrl = (port: number) => `http://127.0.0.1:${port}`;
		const dir = join(this.root, "init");
		this.initDir = dir;
		const out: string[] = [];
		// Dial-out (init's default): the agents dial the Worker's URL, so its port is chosen first.
		const dialOut = this.opts.transport === "dial-out";
		const workerPort = await reservePort();
		const transportArgs = dialOut
			? ["--transport", "dial-out", "--worker-url", `http://127.0.0.1:${workerPort}`]
			: [
					"--transport",
					"endpoint",
					"--standby-agent-url",
					agentUrl(ports.standby),
					"--primary-agent-url",
					agentUrl(ports.primary),
				];
		const code = await runOperatorCli(
			[
				"init",
				"--yes",
				"--local-dev",
				"--dir",
				dir,
				...transportArgs,
				"--ready-url",
				`${this.proxy.url}/readyz`,
				"--peer-ready-url",
				`${this.standbyRoute.url}/readyz`,
				// The lab's scenarios are written for a primary without a self-fence (fencing has its own tests).
				"--standby-url",
				"none",
				"--probe-interval",
				String(this.opts.intervalSeconds),
			],
			{ out: (t) => out.push(t), err: (t) => out.push(t) },
			{ env: {}, fetch },
		);
		this.initOutput = out.join("");
		if (code !== 0) throw new Error(`failover-gateway init failed (${code}):\n${this.initOutput}`);
		const produced = (file: string) => JSON.parse(readFileSync(join(dir, file), "utf8"));
		const secrets = produced("worker-secrets.json") as Record<string, string>;
		const privateKey = await importPrivateKey(secrets.WATCHDOG_PRIVATE_KEY as string);
		const publicKeyText = await publicKeyTextOf(secrets.WATCHDOG_PRIVATE_KEY as string);
		const publicKey = await importPublicKey(publicKeyText);
		this.keys = {
			privateKey,
			publicKey,
			privateKeyText: secrets.WATCHDOG_PRIVATE_KEY as string,
			publicKeyText,
			keyId: (await keyId(publicKey)) ?? "",
		};
		this.standbyAgent = new AgentProcess(
			"standby",
			this.root,
			{
				...produced(join(PAIR, "standby", "config.json")),
				...this.labAgentFields("standby"),
				// init turns replication on; the lab's scenarios sync with git-pull/git-push steps instead.
				replication: { enabled: false },
				// init's config names the key's place on the VPS; here it is still in init's folder.
				agentKeyFile: join(dir, PAIR, "standby", "agent.key"),
			},
			this.line("standby-agent"),
		);
		this.standbyAgent.port = ports.standby;
		await this.standbyAgent.start();
		this.primaryAgent = new AgentProcess(
			"primary",
			this.root,
			{
				...produced(join(PAIR, "primary", "config.json")),
				...this.labAgentFields("primary"),
				// init turns replication on; the lab's scenarios sync with git-pull/git-push steps instead.
				replication: { enabled: false },
				// init's config names the key's place on the VPS; here it is still in init's folder.
				agentKeyFile: join(dir, PAIR, "primary", "agent.key"),
			},
			this.line("primary-agent"),
		);
		this.primaryAgent.port = ports.primary;
		await this.primaryAgent.start();
		this.worker = new WorkerDev({
			vars: {
				...secrets,
				// init --local-dev made loopback http URLs: the Worker accepts them only in local development.
				LOCAL_DEVELOPMENT: "1",
				NOTIFY_WEBHOOK_URL: this.webhook.url,
				NOTIFY_WEBHOOK_SECRET: this.webhookSecret,
			},
			// As deployed: the config file, unchanged, through --var.
			args: ["--var", `WATCHDOG_CONFIG:${readFileSync(join(dir, "worker-config.json"), "utf8")}`],
			persistTo: join(this.root, "worker-state"),
			onLine: this.line("worker"),
			port: workerPort,
		});
		this.adminToken = secrets.ADMIN_TOKEN as string;
		await this.worker.start();
		await this.worker.scheduled();
		await this.waitForState("primary-active", 10 * this.interval + 10_000);
		if (dialOut) await this.waitForDialOut();
	}

	async pair(): Promise<PairView> {
		// Detail needs the admin token (the public summary does not).
		const r = await this.worker.api<PairView>(`/api/v1/pairs/${PAIR}`, { token: this.adminToken });
		if (r.status !== 200)
			throw new Error(`GET pair answered ${r.status}: ${JSON.stringify(r.body)}`);
		return r.body;
	}

	/**
	 * Waits until `phase` (0..1) of a probe interval after one of the Worker's ticks (read from the
	 * pair's lastTickAt), so a fault can be injected at a chosen point of the probe cycle.
	 */
	async atPhase(phase: number): Promise<void> {
		const r = await this.worker.api<{ lastTickAt: number | null }>(`/api/v1/pairs/${PAIR}`, {
			token: this.adminToken,
		});
		let at = (r.body.lastTickAt ?? Date.now()) + phase * this.interval;
		while (at < Date.now() + 50) at += this.interval;
		await new Promise((resolve) => setTimeout(resolve, at - Date.now()));
	}

	/** The event log, oldest first. */
	async events(limit = 200): Promise<PairEventView[]> {
		const r = await this.worker.api<{ events: PairEventView[] }>(
			`/api/v1/pairs/${PAIR}/events?limit=${limit}`,
			{ token: this.adminToken },
		);
		if (r.status !== 200) throw new Error(`GET events answered ${r.status}`);
		return [...r.body.events].reverse();
	}

	async operator(command: string): Promise<{ status: number; body: unknown }> {
		return this.worker.api(`/api/v1/pairs/${PAIR}/${command}`, {
			method: "POST",
			token: this.adminToken,
		});
	}

	async waitForState(state: string, timeoutMs: number): Promise<PairView> {
		let last: PairView | undefined;
		await waitFor(
			`state ${state}`,
			async () => {
				last = await this.pair();
				return last.state === state;
			},
			timeoutMs,
			100,
		).catch((e: Error) => {
			throw new Error(`${e.message} (last: ${last?.state}, ${last?.reason})`);
		});
		return last as PairView;
	}

	/** The first event of `kind` at or after `since` (Worker clock = this machine's clock). */
	async waitForEvent(kind: string, since: number, timeoutMs: number): Promise<PairEventView> {
		let found: PairEventView | undefined;
		await waitFor(
			`event ${kind}`,
			async () => {
				found = (await this.events()).find((e) => e.kind === kind && e.at >= since);
				return found !== undefined;
			},
			timeoutMs,
			100,
		);
		return found as PairEventView;
	}

	async stop(): Promise<void> {
		await Promise.allSettled([
			this.worker?.stop(),
			this.standbyAgent?.stop(),
			this.primaryAgent?.stop(),
		]);
		await Promise.allSettled([
			this.primaryGw.stop(),
			this.standbyGw.stop(),
			this.proxy.stop(),
			this.standbyRoute.stop(),
			this.uplinks?.primary.stop(),
			this.uplinks?.standby.stop(),
			this.agentRoutes?.primary.stop(),
			this.agentRoutes?.standby.stop(),
			this.crossRoute?.stop(),
			this.control.stop(),
			this.webhook.stop(),
		]);
		rmSync(this.root, { recursive: true, force: true });
	}
}
