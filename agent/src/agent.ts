// Assembles a running agent from its config: keys, state, replay cache, operations, prober and the app.
import type { Hono } from "hono";
import { importPublicKey, MAX_SKEW_MS, type OperationRecord, type Role } from "../../protocol";
import { type AgentKey, loadAgentKey, ownAudience } from "./agent-key";
import { type AgentAppDeps, createAgentApp, statusBody } from "./app";
import { AuthFailureLimiter } from "./auth-limiter";
import type { AuthVariables } from "./authenticate";
import type { AgentConfig } from "./config";
import { DialOut } from "./dial-out";
import type { Logger } from "./log";
import { OperationManager, type RunStep } from "./operations";
import { PeerProber } from "./peer-prober";
import { probeReady } from "./probe";
import { ReplayCache } from "./replay-cache";
import { StateStore } from "./state-store";

/** Loopback answers in milliseconds; a gateway slower than this is not serving, and status stays fast. */
export const GATEWAY_PROBE_TIMEOUT_MS = 1_000;

export interface AgentIo {
	now?: () => number;
	runStep: RunStep;
	log: Logger;
	fetch?: typeof fetch;
	/** Tests turn the background probe off and drive probeOnce() themselves. */
	startPeerProbe?: boolean;
	/** Tests drive the dialer themselves (default: dial out when watchdogUrl is set). */
	startDialOut?: boolean;
	authFailureLimit?: number;
}

export interface Agent {
	app: Hono<{ Variables: AuthVariables }>;
	operations: OperationManager;
	state: StateStore;
	prober: PeerProber | null;
	role: Role;
	/** This agent's own key and identity (the fingerprint in its audience). */
	key: AgentKey;
	/** The outbound connection to the Worker, when watchdogUrl is set. */
	dialOut: DialOut | null;
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
	const replay = await ReplayCache.open(config.stateDir, { maxSkewMs: MAX_SKEW_MS, now: now() });
	const operations = new OperationManager({
		store: opened.store,
		actions: config.actions,
		runStep: io.runStep,
		stepContext: {
			workspace: config.workspace,
			gatewayUnit: config.gatewayUnit,
			readyUrl: config.localReadyUrl,
			...(io.fetch ? { fetch: io.fetch } : {}),
		},
		now,
		log,
	});
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

	const appDeps: AgentAppDeps = {
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
	const dialOut =
		config.watchdogUrl === undefined
			? null
			: new DialOut({
					url: config.watchdogUrl,
					pair: config.pair,
					side: config.role,
					privateKey: key.privateKey,
					app,
					status: () => statusBody(appDeps),
					log,
					now,
				});
	if (dialOut !== null && io.startDialOut !== false) dialOut.start();

	return {
		app,
		dialOut,
		operations,
		state: opened.store,
		prober,
		role: config.role,
		key,
		interrupted: opened.interrupted,
		async close() {
			await dialOut?.stop();
			prober?.stop();
			await operations.shutdown();
		},
	};
}
