// The agent's HTTP surface: /healthz unauthenticated, every /v1 route signed; built from injected parts.
import {
	type Audience,
	type CommandAction,
	CommandRequestSchema,
	type DialOutReport,
	formatIssues,
	HEADERS,
	type LocalGateway,
	type PeerProbe,
	PROTOCOL_VERSION,
	type ReplicationStatus,
	ROLE_ACTIONS,
	ROUTES,
	type Role,
	type StatusResponse,
} from "../../protocol";
import { type AgentAnswer, type AgentRequest, jsonAnswer } from "./agent-http";
import type { AuthFailureLimiter } from "./auth-limiter";
import { authenticate, socketAddress } from "./authenticate";
import { errorBody, onError, ProtocolError } from "./errors";
import type { FenceState } from "./fencing";
import { gate } from "./gate";
import type { Logger } from "./log";
import type { OperationManager } from "./operations";
import type { ReplayCache } from "./replay-cache";
import type { LeaseHolder } from "./replication/lease-holder";
import type { StateStore } from "./state-store";
import { stopwatch } from "./stopwatch";
import { webRequest } from "./web-request";

export interface AgentAppDeps {
	/** The primary's self-fence (null: configured off; undefined: not a primary). */
	fence?: { state: FenceState } | null;
	role: Role;
	/** Pair, side and key fingerprint: the audience every request must be signed for. */
	audience: Audience;
	/** The agent's own private key: signs every answer to an authenticated request. */
	agentKey: CryptoKey;
	publicKeys: readonly CryptoKey[];
	now: () => number;
	state: StateStore;
	replay: ReplayCache;
	limiter: AuthFailureLimiter;
	operations: OperationManager;
	/** The standby's probe of the primary; null when none is configured. */
	peer: { snapshot(now: number): PeerProbe | null } | null;
	/** Keeps the watchdog's lease sent with status requests (x-fg-lease); absent in older tests. */
	lease?: LeaseHolder;
	/** Workspace replication, for status; null when not configured. */
	replication?: { status(now: number): ReplicationStatus } | null;
	/** Whether the local gateway answers its readiness URL right now. */
	gatewayActive: () => Promise<boolean>;
	/** The own gateway's latest cached report (never waited on); null before the first check. */
	local?: { snapshot(): LocalGateway | null };
	/** The outbound connection to the Worker, for status; null or absent for an endpoint agent. */
	dialOut?: { report(): DialOutReport } | null;
	/** End of this VPS's maintenance window (ms since epoch), or null. */
	maintenanceUntil?: () => Promise<number | null>;
	log: Logger;
	/** Source address used for auth-failure rate limiting. Default: the socket's peer address. */
	clientAddress?: (req: AgentRequest) => string;
}

/**
 * The agent's routes. Served on node:http by server.ts, run through `handle` by the dial-out
 * connection, and reached through `request` by the tests. Not a hono app: hono's web Request/Response load undici, about 9 MiB
 * of an idle agent's RSS (measured: docs/agent.md, "Measured").
 */
export interface AgentApp {
	/** Answers one request; never throws (a refusal or a bug becomes its JSON error answer). */
	handle(req: AgentRequest): Promise<AgentAnswer>;
	/**
	 * The same through web classes, as hono's app.request: `input` is a path ("/v1/status") or a URL;
	 * `env.incoming.socket.remoteAddress` is the source address the limiter sees (default "unknown").
	 */
	request(
		input: string,
		init?: RequestInit,
		env?: { incoming?: { socket?: { remoteAddress?: string } } },
	): Promise<Response>;
}

const ACTION_PATHS: readonly (readonly [CommandAction, string])[] = [
	["promote", ROUTES.promote],
	["demote", ROUTES.demote],
	["sync", ROUTES.sync],
];

function parseCommand(bytes: Uint8Array) {
	let json: unknown;
	try {
		json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
	} catch {
		throw new ProtocolError(
			400,
			"invalid-body",
			"(body): expected a JSON object {opId, term, waitMs?}, got text that is not JSON",
		);
	}
	const parsed = CommandRequestSchema.safeParse(json);
	if (!parsed.success) {
		throw new ProtocolError(400, "invalid-body", formatIssues(parsed.error.issues).join("; "));
	}
	return parsed.data;
}

/** The agent's status: the body of GET /v1/status, and what a dial-out agent pushes every heartbeat. */
export async function statusBody(deps: AgentAppDeps): Promise<StatusResponse> {
	const [gatewayActive, maintenanceUntil] = await Promise.all([
		deps.gatewayActive(),
		deps.maintenanceUntil?.() ?? null,
	]);
	const now = deps.now();
	return {
		version: PROTOCOL_VERSION,
		role: deps.role,
		term: deps.state.term,
		gatewayActive,
		lastOperation: deps.operations.last(),
		peer: deps.peer?.snapshot(now) ?? null,
		now,
		local: deps.local?.snapshot() ?? null,
		maintenanceUntil,
		...(deps.fence === undefined
			? {}
			: {
					fence: deps.fence
						? { fenced: deps.fence.state.fenced, problem: deps.fence.state.problem }
						: null,
				}),
		...(deps.replication === undefined
			? {}
			: { replication: deps.replication?.status(now) ?? null }),
		...(deps.dialOut ? { dialOut: deps.dialOut.report() } : {}),
	};
}

/**
 * Hands a lease from the watchdog (the x-fg-lease header of a status request, or a dial-out tick
 * frame) to the lease holder. A bad lease never fails anything: it is logged, once per reason (every
 * tick carries one, so not every 5 s).
 */
export function leaseOffer(deps: AgentAppDeps): (text: string) => Promise<void> {
	let lastProblem: string | null = null;
	return async (text) => {
		if (deps.lease === undefined) return;
		const offered = await deps.lease.offer(text);
		if (offered.kind === "rejected" || offered.kind === "other-pair") {
			const why = offered.kind === "rejected" ? offered.message : `for pair ${offered.lease.pair}`;
			if (why !== lastProblem) deps.log.warn("lease not accepted", { why });
			lastProblem = why;
		} else {
			lastProblem = null;
		}
	};
}

export function createAgentApp(deps: AgentAppDeps): AgentApp {
	const { log, operations } = deps;
	const answerError = onError(log);
	const clientAddress = deps.clientAddress ?? socketAddress;
	// Cheap refusals first (no body read, no signature check), then the signature.
	const checkHeaders = gate({ now: deps.now, limiter: deps.limiter, log, clientAddress });
	const signed = authenticate({
		publicKeys: deps.publicKeys,
		audience: deps.audience,
		agentKey: deps.agentKey,
		now: deps.now,
		replay: deps.replay,
		limiter: deps.limiter,
		log,
		clientAddress,
	});
	/** Offers the lease a watchdog request carries; logs a refusal once per reason. */
	const offerLease = leaseOffer(deps);

	const notFound = (req: AgentRequest) =>
		jsonAnswer(errorBody("not-found", `no route ${req.method} ${req.path}`), 404);
	const wrongMethod = (path: string, allowed: string) =>
		jsonAnswer(errorBody("method-not-allowed", `${path} only accepts ${allowed}`), 405, {
			allow: allowed,
		});

	const command = async (action: CommandAction, bytes: Uint8Array): Promise<AgentAnswer> => {
		if (!ROLE_ACTIONS[deps.role].includes(action)) {
			throw new ProtocolError(
				403,
				"action-not-allowed",
				`this is the ${deps.role}'s agent of pair "${deps.audience.pair}": it never runs ${action} (the ${deps.role} only runs ${ROLE_ACTIONS[deps.role].join(" and ")}); refused`,
			);
		}
		const parsed = parseCommand(bytes);
		const submitted = await operations.submit({ opId: parsed.opId, action, term: parsed.term });
		switch (submitted.kind) {
			case "stale-term":
				throw new ProtocolError(
					409,
					"stale-term",
					`term ${parsed.term} is below the highest term this agent has seen (${submitted.highest}): the command comes from an outdated decision`,
				);
			case "conflict":
				throw new ProtocolError(
					409,
					"opid-conflict",
					`opId ${parsed.opId} was already used for ${submitted.record.action} at term ${submitted.record.term}`,
				);
			case "accepted":
			case "existing": {
				const record = (await operations.wait(parsed.opId, parsed.waitMs)) ?? submitted.record;
				return jsonAnswer(record);
			}
			default: {
				const unreachable: never = submitted;
				throw new Error(`unhandled submit result ${JSON.stringify(unreachable)}`);
			}
		}
	};

	/** The signed routes, after the signature check; `method` is GET for a HEAD. */
	const signedRoute = async (
		req: AgentRequest,
		method: string,
		body: Uint8Array,
	): Promise<AgentAnswer> => {
		if (req.path === ROUTES.status) {
			if (method !== "GET") return wrongMethod(req.path, "GET");
			const leaseText = req.headers[HEADERS.lease];
			if (leaseText !== undefined) await offerLease(leaseText);
			return jsonAnswer(await statusBody(deps));
		}
		for (const [action, path] of ACTION_PATHS) {
			if (req.path !== path) continue;
			if (method !== "POST") return wrongMethod(path, "POST");
			return command(action, body);
		}
		return notFound(req);
	};

	const route = async (req: AgentRequest): Promise<AgentAnswer> => {
		// HEAD is answered as GET (the body is dropped at the end), as hono and HTTP do.
		const method = req.method === "HEAD" ? "GET" : req.method;
		if (req.path === ROUTES.healthz) {
			return method === "GET" ? jsonAnswer({ ok: true as const }) : wrongMethod(req.path, "GET");
		}
		if (req.path !== "/v1" && !req.path.startsWith("/v1/")) return notFound(req);
		// Every /v1 path, known or not, is checked first: an unsigned caller learns only "sign it".
		await checkHeaders(req);
		return signed(req, async ({ body }) => {
			try {
				return await signedRoute(req, method, body);
			} catch (error) {
				// Answered here, inside the check, so that the answer is signed too.
				return answerError(error, req);
			}
		});
	};

	const handle = async (req: AgentRequest): Promise<AgentAnswer> => {
		const elapsed = stopwatch();
		let answer: AgentAnswer;
		try {
			answer = await route(req);
		} catch (error) {
			answer = answerError(error, req);
		}
		// Every request at debug level; rejects are logged at warn where they are decided.
		log.debug("request", {
			method: req.method,
			path: req.path,
			status: answer.status,
			ms: Math.round(elapsed() * 10) / 10,
		});
		return req.method === "HEAD" ? { ...answer, body: new Uint8Array(0) } : answer;
	};

	return { handle, request: (input, init, env) => webRequest(handle, input, init, env) };
}
