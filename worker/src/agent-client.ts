// The watchdog's side of the agent protocol, as an interface the Durable Object is given; the signed client comes later.
import {
	importPrivateKey,
	type Lease,
	MAX_SKEW_MS,
	type Role,
	type StatusResponse,
	signLease,
} from "../../protocol";
import { type AgentTransport, agentTransport, heartbeatMs, type PairConfig } from "./config";
import {
	createSignedAgentClient,
	primaryViewOf,
	standbyViewOf,
	type VerifiedStatus,
} from "./signed-agent-client";
import type { Command, CommandOutcome, PrimaryAgentView, Side, StandbyView } from "./types";

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
	/**
	 * Whether this tick's lease may have reached `side` (read after status/primaryStatus): over HTTP any
	 * attempt may have, over dial-out only a frame on an open socket. Absent: assume it may have.
	 */
	leaseDelivered?(side: Side): boolean;
	/** Sends a command to `cmd.target`. Expected failures (unreachable, rejected) are outcomes, not throws. */
	command(cmd: Command, opts: CommandOptions): Promise<CommandOutcome>;
}

export type AgentClientFactory = (pair: PairConfig, sockets?: DialOutSockets) => AgentClient;

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

/** A pushed status older than this is not "now" (ms): three heartbeats, and never under 5 s of jitter room. */
export function pushedStatusMaxAgeMs(heartbeatMs: number): number {
	return Math.max(3 * heartbeatMs, Math.min(MAX_SKEW_MS, 5_000));
}

/**
 * Where a dial-out side's requests are addressed: a name that can never resolve (RFC 6761 `.invalid`),
 * recognised by the socket fetch and never sent to the network.
 */
export const DIAL_OUT_HOST_SUFFIX = ".dial-out.invalid";

/** The agents' dial-out sockets, as the client needs them (AgentSockets in the Durable Object). */
export interface DialOutSockets {
	fetchFor(pair: string, side: Side): typeof fetch;
	/** Sends `side` this tick's signed lease (a tick frame); false when it is not connected. */
	sendLease(pair: string, side: Side, lease: string): boolean;
	/** The newest status `side` pushed within `maxAgeMs`, and its age by the Worker's clock (ms). */
	latestStatus(
		pair: string,
		side: Side,
		maxAgeMs: number,
	): { status: StatusResponse; ageMs: number } | undefined;
	/** How long the side's socket has been silent and whether it is open (for the reason a stale side gets). */
	connection?(pair: string, side: Side): { connected: boolean; silentMs: number | null };
}

/**
 * Picks the agent client for this deployment: the signed protocol client when WATCHDOG_PRIVATE_KEY is
 * set, otherwise `noAgentClient`, which sends nothing and says so. The key is imported once per
 * isolate; a malformed key makes every call fail with the reason instead of throwing. Each side goes
 * over its own transport (agentTransport): HTTPS to its endpoint, or its dial-out socket, where the
 * same signed envelopes travel and its status is the newest one it pushed.
 */
export function agentClientsFor(
	env: { WATCHDOG_PRIVATE_KEY?: string },
	fetchImpl?: typeof fetch,
): AgentClientFactory {
	const text = env.WATCHDOG_PRIVATE_KEY?.trim();
	if (!text) return () => noAgentClient;
	const privateKey = importPrivateKey(text);
	privateKey.catch(() => {}); // Reported per call, as an outcome.
	const network = fetchImpl ?? ((...a: Parameters<typeof fetch>) => fetch(...a));
	const clients = new Map<string, AgentClient>();
	return (pair, sockets) => {
		const standby = agentTransport(pair, "standby");
		const primary = agentTransport(pair, "primary");
		const key = `${pair.name} ${JSON.stringify([standby, primary])} ${sockets ? "s" : ""}`;
		let client = clients.get(key);
		if (!client) {
			const urlOf = (side: Side, t: AgentTransport) =>
				t.kind === "endpoint"
					? t.url
					: t.kind === "dial-out"
						? `https://${side}${DIAL_OUT_HOST_SUFFIX}`
						: undefined;
			const standbyUrl = urlOf("standby", standby);
			const primaryUrl = urlOf("primary", primary);
			const routed: typeof fetch = (input, init) => {
				const host = new URL(input instanceof Request ? input.url : String(input)).hostname;
				if (!host.endsWith(DIAL_OUT_HOST_SUFFIX)) return network(input, init);
				const side: Side = host.startsWith("primary.") ? "primary" : "standby";
				if (!sockets) return Promise.reject(new TypeError("dial-out is not available here"));
				return sockets.fetchFor(pair.name, side)(input, init);
			};
			const signed = createSignedAgentClient({
				pair: pair.name,
				standbyUrl: standbyUrl ?? "https://standby.unconfigured.invalid",
				standbyKey: pair.standby.agentPublicKey,
				...(primaryUrl ? { primaryUrl } : {}),
				...(pair.primary.agentPublicKey ? { primaryKey: pair.primary.agentPublicKey } : {}),
				privateKey,
				timeoutMs: pair.commandTimeoutMs,
				fetch: routed,
			});
			const maxAge = pushedStatusMaxAgeMs(heartbeatMs(pair));
			/** A dial-out side's newest pushed status; its lease goes out in a tick frame (outgoing: free). */
			const delivered: Partial<Record<Side, boolean>> = {};
			const pushed = async (side: Side, lease: Lease | undefined) => {
				delivered[side] = false;
				if (sockets && lease) {
					try {
						const text = await signLease(lease, await privateKey);
						delivered[side] = sockets.sendLease(pair.name, side, text);
					} catch {
						// A bad key is reported by every signed call; the status below still says what it saw.
					}
				}
				return sockets?.latestStatus(pair.name, side, maxAge);
			};
			const silent = (side: Side) => {
				const c = sockets?.connection?.(pair.name, side);
				// The silence age tells a half-open socket (open, silent) from an agent that is gone.
				const seen =
					c === undefined || c.silentMs === null
						? ""
						: `; ${c.connected ? "socket open, " : "not connected, "}last frame ${Math.round(c.silentMs / 1000)} s ago`;
				return `no status pushed by the ${side} agent in the last ${Math.round(maxAge / 1000)} s (dial-out${seen})`;
			};
			client = {
				// Over HTTP every status request may have delivered the lease; over dial-out only an open socket.
				leaseDelivered: (side) =>
					agentTransport(pair, side).kind === "dial-out" ? (delivered[side] ?? false) : true,
				command: (cmd, opts) => signed.command(cmd, opts),
				readStatus: (side, signal) => signed.readStatus(side, signal),
				async status(signal, lease) {
					if (standby.kind !== "dial-out") return signed.status(signal, lease);
					const p = await pushed("standby", lease);
					if (!p) return { reachable: false, reason: silent("standby") };
					return standbyViewOf(p.status, p.ageMs);
				},
				async primaryStatus(signal, lease): Promise<PrimaryAgentView | undefined> {
					if (primary.kind === "none") return undefined;
					if (primary.kind === "endpoint") return signed.primaryStatus(signal, lease);
					const p = await pushed("primary", lease);
					if (!p) return { reachable: false, reason: silent("primary") };
					return primaryViewOf(p.status, p.ageMs);
				},
			};
			clients.set(key, client);
		}
		return client;
	};
}
