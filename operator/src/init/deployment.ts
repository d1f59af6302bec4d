// Turns init's answers into the Worker config and the agent configs, validated by the product's own parsers.
import { dirname, join } from "node:path";
import { type AgentConfigInput, parseConfig } from "../../../agent/src/config";
import { PairConfigSchema, parseWatchConfig } from "../../../worker/src/config";
import { AGENT_KEY_ON_VPS, agentKeyFields } from "./agent-keys";
import type { PairAnswers } from "./questions";

export type Role = "primary" | "standby";

/** One agent to install: which pair and side, its config as written, and where init puts its files. */
export interface AgentPlan {
	pair: string;
	role: Role;
	/** ssh destination of its VPS. */
	ssh: string;
	/** Only the fields the operator chose; every other field takes the schema's default on the VPS. */
	config: AgentConfigInput;
	/** Folder (under init's output folder) with config.json and failover-agent.service. */
	folder: string;
	gatewayUser: string;
	gatewayScope: "user" | "system";
}

export interface Deployment {
	/** WATCHDOG_CONFIG as written to worker-config.json. */
	worker: { pairs: Record<string, unknown>[] };
	agents: AgentPlan[];
	pairs: readonly PairAnswers[];
}

/**
 * The probe deadline must end before the next tick: below the schema's default timeout's reach (short
 * intervals), half the interval, so the answer to "interval 1 s" is a valid config, not a refusal.
 */
function probeTimeoutFor(intervalSeconds: number): { probeTimeoutMs?: number } {
	const fallback = PairConfigSchema.shape.probeTimeoutMs.parse(undefined);
	const ms = intervalSeconds * 1000;
	return fallback < ms ? {} : { probeTimeoutMs: Math.floor(ms / 2) };
}

export type Built = { ok: true; deployment: Deployment } | { ok: false; errors: string[] };

/** Whether the pair runs an agent on its primary (dial-out: asked; endpoint: it has a URL). */
export function hasPrimaryAgent(p: PairAnswers): boolean {
	return p.transport === "dial-out" ? p.primaryAgent === true : p.primaryAgentUrl !== undefined;
}

/**
 * Builds the configs for every pair and checks them with parseWatchConfig (the Worker) and parseConfig
 * (the agent). Only chosen fields are written, so defaulted fields the schemas gain later flow through.
 * A dial-out side gets only `agentPublicKey` in the Worker config (no agentUrl: worker/src/config.ts
 * `agentTransport`) and its agent gets `watchdogUrl` (`workerUrl`, required when any pair dials out).
 */
export async function buildDeployment(
	pairs: readonly PairAnswers[],
	publicKeyText: string,
	dir: string,
	opts: {
		/** Pairs already in the Worker config that this run does not answer: kept as they are, first. */
		kept?: readonly Record<string, unknown>[];
		/** The deployed Worker's base URL, which dial-out agents dial. */
		workerUrl?: string | undefined;
		/** --local-dev: the Worker config is checked as the local Worker reads it (loopback, http). */
		localDevelopment?: boolean;
	} = {},
): Promise<Built> {
	const { kept = [], workerUrl, localDevelopment = false } = opts;
	const worker: Deployment["worker"] = { pairs: [...kept] };
	const agents: AgentPlan[] = [];
	for (const p of pairs) {
		const dialOut = p.transport === "dial-out";
		if (dialOut && workerUrl === undefined) {
			return {
				ok: false,
				errors: [
					`pair ${p.name}: its agents dial out, so they need the Worker's URL (--worker-url https://failover-gateway.<your-subdomain>.workers.dev)`,
				],
			};
		}
		if (!dialOut && p.standbyAgentUrl === undefined) {
			return {
				ok: false,
				errors: [`pair ${p.name}: the endpoint transport needs --standby-agent-url`],
			};
		}
		const standbyKeys = await agentKeyFields(dir, p.name, "standby");
		const primaryKeys = hasPrimaryAgent(p)
			? await agentKeyFields(dir, p.name, "primary")
			: undefined;
		if (!standbyKeys.ok) return { ok: false, errors: [standbyKeys.message] };
		if (primaryKeys && !primaryKeys.ok) return { ok: false, errors: [primaryKeys.message] };
		worker.pairs.push({
			name: p.name,
			primary: {
				readyUrl: p.readyUrl,
				...(p.expectBody !== undefined ? { expectBody: p.expectBody } : {}),
				...(!dialOut && p.primaryAgentUrl ? { agentUrl: p.primaryAgentUrl } : {}),
				...(primaryKeys?.ok ? primaryKeys.worker : {}),
			},
			standby: {
				...(!dialOut ? { agentUrl: p.standbyAgentUrl } : {}),
				...standbyKeys.worker,
			},
			...(p.probeIntervalSeconds !== 5 ? { probeIntervalSeconds: p.probeIntervalSeconds } : {}),
			...probeTimeoutFor(p.probeIntervalSeconds),
			...(p.failback !== "auto" ? { failback: p.failback } : {}),
		});
		const common = {
			pair: p.name,
			agentKeyFile: AGENT_KEY_ON_VPS,
			watchdogPublicKeys: [publicKeyText],
			workspace: p.workspace,
			gatewayUnit: { name: p.gatewayUnit, scope: p.gatewayScope },
			...(dialOut ? { watchdogUrl: workerUrl } : {}),
			// On: the Worker init configures sends leases, which is what replication waits for (its
			// default is off only for agents behind an older Worker: agent/src/replication/config.ts).
			// Remote and branch: the schema's defaults, "origin" and the workspace's current branch.
			replication: { enabled: true },
		};
		agents.push({
			pair: p.name,
			role: "standby",
			ssh: p.standbySsh,
			config: { role: "standby", primaryReadyUrl: p.peerReadyUrl, ...common, ...standbyKeys.agent },
			folder: join(dir, p.name, "standby"),
			gatewayUser: p.gatewayUser,
			gatewayScope: p.gatewayScope,
		});
		if (primaryKeys) {
			agents.push({
				pair: p.name,
				role: "primary",
				ssh: p.primarySsh,
				config: {
					role: "primary",
					...common,
					...(p.standbyUrl !== undefined ? { fencing: { standbyUrl: p.standbyUrl } } : {}),
					...(primaryKeys.ok ? primaryKeys.agent : {}),
				},
				folder: join(dir, p.name, "primary"),
				gatewayUser: p.gatewayUser,
				gatewayScope: p.gatewayScope,
			});
		}
	}
	const errors: string[] = [];
	const parsed = parseWatchConfig(worker, { localDevelopment });
	for (const e of parsed.errors) errors.push(`Worker config ${e.path}: ${e.message}`);
	for (const a of agents) {
		const file = join(a.folder, "config.json");
		const r = parseConfig(a.config, file, dirname(file));
		if (!r.ok) for (const e of r.errors) errors.push(`${file}: ${e}`);
	}
	return errors.length > 0
		? { ok: false, errors }
		: { ok: true, deployment: { worker, agents, pairs } };
}
