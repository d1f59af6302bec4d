// The watchdog's side of the agent protocol, as an interface the Durable Object is given; the signed client comes later.
import { importPrivateKey, type Lease, type Role } from "../../protocol";
import type { PairConfig } from "./config";
import { createSignedAgentClient, type VerifiedStatus } from "./signed-agent-client";
import type { Command, CommandOutcome, PrimaryAgentView, StandbyView } from "./types";

export interface CommandOptions {
	/** How long the agent may hold the request for the operation to finish before answering "running". */
	waitMs: number;
	/** Ends the call: the command's own timeout combined with the tick's deadline. */
	signal: AbortSignal;
}

/** One pair's agents (the standby, and the primary for sync). */
export interface AgentClient {
	/**
	 * The standby agent's view of the primary (GET /v1/status). `undefined` means this client has no way
	 * to ask, so the tick passes "unknown" to decide() rather than an invented answer. `lease`: this tick's
	 * lease (worker/src/lease.ts buildLease); the client signs it and sends it as x-fg-lease.
	 */
	/** `lease`: this tick's lease (worker/src/lease.ts), signed and sent with the request. */
	status(signal: AbortSignal, lease?: Lease): Promise<StandbyView | undefined>;
	/**
	 * The primary's own agent (GET /v1/status): its gateway's local readiness and maintenance window.
	 * `undefined` when there is no primary agent to ask (no `primary.agentUrl`, or no client): the
	 * restart grace is then off. Optional so clients without a primary side need not implement it.
	 */
	primaryStatus?(signal: AbortSignal, lease?: Lease): Promise<PrimaryAgentView | undefined>;
	/**
	 * One side's GET /v1/status, verified with that side's agentPublicKey, with the failure's cause (the
	 * doctor's fixes). Optional: a client without it (no signing key) cannot read any agent.
	 */
	readStatus?(side: Role, signal?: AbortSignal): Promise<VerifiedStatus>;
	/** Sends a command to `cmd.target`. Expected failures (unreachable, rejected) are outcomes, not throws. */
	command(cmd: Command, opts: CommandOptions): Promise<CommandOutcome>;
}

export type AgentClientFactory = (pair: PairConfig) => AgentClient;

/** Used until the signed protocol client exists: it sends nothing and says so in every outcome. */
export const noAgentClient: AgentClient = {
	async status() {
		return undefined;
	},
	async primaryStatus() {
		return undefined;
	},
	async command(cmd) {
		return {
			action: cmd.action,
			term: cmd.term,
			opId: cmd.opId,
			result: "unsupported",
			detail: `no agent client yet: would ${cmd.action} (term ${cmd.term}, op ${cmd.opId})`,
		};
	},
};

/**
 * Picks the agent client for this deployment: the signed protocol client when WATCHDOG_PRIVATE_KEY is
 * set, otherwise `noAgentClient`, which sends nothing and says so. The key is imported once per
 * isolate; a malformed key makes every call fail with the reason instead of throwing.
 */
export function agentClientsFor(
	env: { WATCHDOG_PRIVATE_KEY?: string },
	fetchImpl?: typeof fetch,
): AgentClientFactory {
	const text = env.WATCHDOG_PRIVATE_KEY?.trim();
	if (!text) return () => noAgentClient;
	const privateKey = importPrivateKey(text);
	privateKey.catch(() => {}); // Reported per call, as an outcome.
	const clients = new Map<string, AgentClient>();
	return (pair) => {
		const key = [
			pair.name,
			pair.standby.agentUrl,
			pair.standby.agentPublicKey,
			pair.primary.agentUrl ?? "",
			pair.primary.agentPublicKey ?? "",
		].join(" ");
		let client = clients.get(key);
		if (!client) {
			client = createSignedAgentClient({
				pair: pair.name,
				standbyUrl: pair.standby.agentUrl,
				standbyKey: pair.standby.agentPublicKey,
				...(pair.primary.agentUrl ? { primaryUrl: pair.primary.agentUrl } : {}),
				...(pair.primary.agentPublicKey ? { primaryKey: pair.primary.agentPublicKey } : {}),
				privateKey,
				timeoutMs: pair.commandTimeoutMs,
				...(fetchImpl ? { fetch: fetchImpl } : {}),
			});
			clients.set(key, client);
		}
		return client;
	};
}
