// Assembles a running agent from its config: keys, state, replay cache, operations, prober and the app.
import { importPublicKey, MAX_SKEW_MS, type OperationRecord, type Role } from "../../protocol";
import { type AgentKey, loadAgentKey, ownAudience } from "./agent-key";
import { type AgentApp, type AgentAppDeps, createAgentApp, leaseOffer, statusBody } from "./app";
import { AuthFailureLimiter } from "./auth-limiter";
import type { AgentConfig } from "./config";
import type { DialOut, WebSocketCtor } from "./dial-out";
import type { Fence } from "./fencing";
import type { ReadyFetch } from "./http-get";
import { LocalGatewayMonitor } from "./local-gateway";
import type { Logger } from "./log";
import { activeUntil, readMaintenance } from "./maintenance";
import { OperationManager, type RunStep } from "./operations";
import { PeerProber } from "./peer-prober";
import { probeReady } from "./probe";
import { ReplayCache } from "./replay-cache";
import { LeaseHolder } from "./replication/lease-holder";
import type { Replicator } from "./replication/replicator";
import { StateStore } from "./state-store";
import type { CommandRunner } from "./steps/run-command";
import type { Step } from "./steps/schema";
import type { MergeConflict } from "./steps/types";
import { stopwatch } from "./stopwatch";

/** Loopback answers in milliseconds; a gateway slower than this is not serving, and status stays fast. */
export const GATEWAY_PROBE_TIMEOUT_MS = 1_000;

export interface AgentIo {
	now?: () => number;
	runStep: RunStep;
	log: Logger;
	/** The readiness GET for the peer probe, gateway probe and wait-ready; defaults to node:http. */
	fetch?: ReadyFetch;
	/** Tests turn the background probe off and drive probeOnce() themselves. */
	startPeerProbe?: boolean;
	/** Tests drive the dialer themselves (default: dial out when watchdogUrl is set). */
	startDialOut?: boolean;
	/** The dialer's WebSocket constructor; tests pass a double that plays the Worker (default: ws-client.ts's, on `ws`). */
	WebSocket?: WebSocketCtor;
	/** Tests drive the fence themselves (default: on for a primary with fencing.standbyUrl). */
	startFence?: boolean;
	/** Tests turn the own-gateway timer off and drive local.checkOnce() themselves. */
	startLocalCheck?: boolean;
	/** Runs `systemctl show` for the own-gateway check; tests inject a fake systemctl. */
	systemctl?: CommandRunner;
	/** CLOCK_MONOTONIC µs (systemd's clock); tests inject one that matches their fake systemctl. */
	monoNowUs?: () => number;
	/** Tests turn replication's timers and watch off and drive replicator.cycle() themselves. */
	startReplication?: boolean;
	authFailureLimit?: number;
}

export interface Agent {
	app: AgentApp;
	operations: OperationManager;
	state: StateStore;
	prober: PeerProber | null;
	/** The own gateway's readiness, checked on its own timer. */
	local: LocalGatewayMonitor;
	/** The newest watchdog lease (replication, and later self-fencing, ask it). */
	lease: LeaseHolder;
	/** null when replication is not enabled in the config. */
	replicator: Replicator | null;
	role: Role;
	/** This agent's own key and identity (the fingerprint in its audience). */
	key: AgentKey;
	/** The outbound connection to the Worker, when watchdogUrl is set. */
	dialOut: DialOut | null;
	/** The primary's self-fence, when configured. */
	fence: Fence | null;
	/** Operations found running at start and recorded as interrupted. */
	interrupted: OperationRecord[];
	close(): Promise<void>;
}

export async function createAgent(config: AgentConfig, io: AgentIo): Promise<Agent> {
	const now = io.now ?? Date.now;
	const { log } = io;
	const publicKeys = await Promise.all(config.watchdogPublicKeys.map((k) => importPublicKey(k)));
	// Before the state dir: a bad key stops the start with its reason and changes nothing on disk.
	const key = await loadAgentKey(config.agentKeyFile);
	const opened = await StateStore.open(config.stateDir, { role: config.role, now });
	if (opened.previousRole !== undefined) {
		log.warn("role changed by the config", { from: opened.previousRole, to: config.role });
	}
	for (const op of opened.interrupted) {
		const step = op.steps.find((s) => s.status === "interrupted");
		log.warn("operation was interrupted by a restart", {
			opId: op.opId,
			action: op.action,
			step: step?.step,
		});
	}
	const lease = new LeaseHolder({
		publicKeys,
		side: config.role,
		now,
		pair: config.replication.pair ?? config.pair,
	});
	const r = config.replication;
	const gitSandbox = {
		identity: r.identity,
		...(r.sshKnownHostsFile ? { knownHostsFile: r.sshKnownHostsFile } : {}),
		...(r.sshKeyFile ? { sshKeyFile: r.sshKeyFile } : {}),
	};
	// Replication, the self-fence and the dial-out connection load only when configured: an agent
	// without them does not hold their code in memory (docs/agent.md, "Measured").
	const replicator = r.enabled
		? new (await import("./replication/replicator")).Replicator({
				workspace: config.workspace,
				side: config.role,
				config: r,
				lease,
				log,
				now,
			})
		: null;
	if (replicator !== null && io.startReplication !== false) replicator.start();
	const replay = await ReplayCache.open(config.stateDir, { maxSkewMs: MAX_SKEW_MS, now: now() });
	if (replay.lost !== null) {
		log.warn("nonce file lost; requests signed before this start are refused", {
			why: replay.lost,
		});
	}
	const operations = new OperationManager({
		store: opened.store,
		actions: config.actions,
		runStep: io.runStep,
		stepContext: {
			workspace: config.workspace,
			gatewayUnit: config.gatewayUnit,
			readyUrl: config.localReadyUrl,
			side: config.role,
			git: gitSandbox,
			...(io.fetch ? { fetch: io.fetch } : {}),
			...(replicator ? { onConflict: (c: MergeConflict) => replicator.noteConflict(c) } : {}),
		},
		now,
		log,
	});
	// Self-fencing (primary only, with fencing.standbyUrl): see agent/src/fencing.ts.
	const stepContext = {
		workspace: config.workspace,
		gatewayUnit: config.gatewayUnit,
		readyUrl: config.localReadyUrl,
		side: config.role,
		git: gitSandbox,
		action: "fence",
		...(io.fetch ? { fetch: io.fetch } : {}),
	};
	const runSteps = async (steps: readonly Step[]) => {
		for (const step of steps) {
			const r = await io.runStep(step, stepContext);
			if (r.status !== "succeeded")
				return { ok: false, detail: `${step.type}: ${r.error ?? "failed"}` };
		}
		return { ok: true, detail: "" };
	};
	const standbyUrl = config.fencing.standbyUrl;
	const fencing =
		config.role === "primary" && standbyUrl !== undefined
			? { ...(await import("./fencing")), ...(await import("./lease-record")) }
			: null;
	// The fence's lease facts outlive this process: a restart while cut off counts from the lease the
	// watchdog counts from, not from its own start (agent/src/lease-record.ts).
	const record =
		fencing === null
			? null
			: await fencing.LeaseRecorder.open({
					dir: config.stateDir,
					pair: config.pair,
					side: config.role,
					now,
					log,
				});
	const start = record?.start;
	const fence =
		fencing !== null && record !== null && standbyUrl !== undefined
			? new fencing.Fence({
					mode: "self",
					side: config.role,
					now,
					// Tests drive `now` alone; a deployed agent counts on the monotonic clock (fencing.ts).
					...(io.now === undefined ? { elapsed: stopwatch() } : {}),
					// The recorded arrival with the recorded length: both of one lease naming this side.
					...(start?.kind === "recorded"
						? { heldSince: { arrivedAt: start.arrivedAt, leaseSeconds: start.leaseSeconds } }
						: {}),
					...(start?.kind === "run-out" ? { heldSince: null } : {}),
					standbyReachable: (signal) => fencing.hostAnswers(standbyUrl, signal),
					stopGateway: () => runSteps(config.fencing.stop),
					startGateway: () => runSteps(config.fencing.start),
					log,
				})
			: null;
	// The fence and its record see every lease kept, and each counts only those naming this side, with
	// that lease's own length: a later lease naming the standby or nobody must not move the fence.
	lease.onNewLease((l) => {
		const at = now();
		fence?.noteLease(l, at);
		record?.recorder.note(l, at);
	});
	if (fence !== null && io.startFence !== false) fence.start();
	if (config.role === "primary" && fence === null) {
		log.warn(
			"self-fencing off: no fencing.standbyUrl, so an isolated primary keeps serving while the standby may be promoted",
		);
	}
	const prober =
		config.primaryReadyUrl === undefined
			? null
			: new PeerProber({
					url: config.primaryReadyUrl,
					intervalMs: config.peerProbe.intervalMs,
					timeoutMs: config.peerProbe.timeoutMs,
					now,
					log,
					...(io.fetch ? { fetch: io.fetch } : {}),
				});
	if (prober !== null && io.startPeerProbe !== false) prober.start();
	const local = new LocalGatewayMonitor({
		url: config.localReadyUrl,
		unit: config.gatewayUnit,
		intervalMs: config.localProbe.intervalMs,
		timeoutMs: config.localProbe.timeoutMs,
		startWindowMs: config.localProbe.startWindowMs,
		now,
		log,
		...(io.fetch ? { fetch: io.fetch } : {}),
		...(io.systemctl ? { runCommand: io.systemctl } : {}),
		...(io.monoNowUs ? { monoNowUs: io.monoNowUs } : {}),
	});
	if (io.startLocalCheck !== false) local.start();
	let maintenanceWarned = false;

	const appDeps: AgentAppDeps = {
		...(config.role === "primary" ? { fence } : {}),
		role: config.role,
		audience: ownAudience(config.pair, config.role, key),
		agentKey: key.privateKey,
		publicKeys,
		now,
		state: opened.store,
		replay,
		limiter: new AuthFailureLimiter({ limit: io.authFailureLimit }),
		operations,
		peer: prober,
		local,
		// Read per status request: a file of a few bytes, and `failover-agent maintenance` takes effect
		// on the watchdog's next poll without signalling the agent.
		maintenanceUntil: async () => {
			const read = await readMaintenance(config.stateDir);
			if (!read.ok && !maintenanceWarned) {
				maintenanceWarned = true;
				log.warn("maintenance file ignored", { error: read.message });
			}
			if (read.ok) maintenanceWarned = false;
			return activeUntil(read, now());
		},
		lease,
		replication: replicator,
		// Probed on each status request rather than tracked: the answer is always fresh, and a loopback
		// request costs far less than the watchdog's poll interval.
		gatewayActive: async () =>
			(
				await probeReady(config.localReadyUrl, {
					timeoutMs: GATEWAY_PROBE_TIMEOUT_MS,
					fetch: io.fetch,
				})
			).ok,
		log,
	};
	const app = createAgentApp(appDeps);
	const offerLease = leaseOffer(appDeps);
	const dialOut =
		config.watchdogUrl === undefined
			? null
			: new (await import("./dial-out")).DialOut({
					url: config.watchdogUrl,
					pair: config.pair,
					side: config.role,
					privateKey: key.privateKey,
					app,
					status: () => statusBody(appDeps),
					// The tick frame carries the same lease an HTTP status request would.
					onLease: (text) => {
						if (text !== null) void offerLease(text);
					},
					log,
					now,
					WebSocket: io.WebSocket ?? (await import("./ws-client")).NodeWebSocket,
				});
	// Its own status reports the connection (redials, drops, clock skew): set once the dialer exists.
	appDeps.dialOut = dialOut;
	if (dialOut !== null && io.startDialOut !== false) dialOut.start();

	return {
		app,
		dialOut,
		fence,
		operations,
		state: opened.store,
		prober,
		local,
		lease,
		replicator,
		role: config.role,
		key,
		interrupted: opened.interrupted,
		async close() {
			fence?.stop();
			// A planned restart (upgrade, systemctl restart) then counts from the very last lease.
			await record?.recorder.flush();
			await dialOut?.stop();
			prober?.stop();
			await replicator?.stop();
			local.stop();
			await operations.shutdown();
		},
	};
}
