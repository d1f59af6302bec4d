// The watchdog's side of the agent protocol, as an interface the Durable Object is given; the signed client comes later.
import type { PairConfig } from "./config";
import type { Command, CommandOutcome, StandbyView } from "./types";

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
	 * to ask, so the tick passes "unknown" to decide() rather than an invented answer.
	 */
	status(signal: AbortSignal): Promise<StandbyView | undefined>;
	/** Sends a command to `cmd.target`. Expected failures (unreachable, rejected) are outcomes, not throws. */
	command(cmd: Command, opts: CommandOptions): Promise<CommandOutcome>;
}

export type AgentClientFactory = (pair: PairConfig) => AgentClient;

/** Used until the signed protocol client exists: it sends nothing and says so in every outcome. */
export const noAgentClient: AgentClient = {
	async status() {
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
 * Picks the agent client for this deployment. The end-to-end issue returns the signed client here when
 * WATCHDOG_PRIVATE_KEY is set; until then every pair gets `noAgentClient`.
 */
export function agentClientsFor(_env: { WATCHDOG_PRIVATE_KEY?: string }): AgentClientFactory {
	return () => noAgentClient;
}
