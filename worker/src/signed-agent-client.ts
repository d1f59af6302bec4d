// Signed HTTP client for the agents of one pair: reads both agents' status and sends promote/demote/sync.
import {
	ACTION_ROUTES,
	type AnswerFailureCode,
	type AnswerVerdict,
	type Audience,
	agentFingerprint,
	type CommandRequestInput,
	ErrorResponseSchema,
	HEADERS,
	importPublicKey,
	type Lease,
	type LocalGateway,
	MAX_TERM,
	MAX_WAIT_MS,
	type OperationRecord,
	OperationRecordSchema,
	ROUTES,
	type Role,
	type StatusResponse,
	StatusResponseSchema,
	signLease,
	signRequest,
	TermSchema,
	verifyAnswer,
} from "../../protocol";
import { deadline } from "./deadline";
import type {
	Command,
	CommandOutcome,
	GatewayReport,
	PrimaryAgentView,
	ReplicationReport,
	StandbyView,
} from "./types";

export interface SignedAgentClientOptions {
	/** The pair's name: part of every request's signed audience. */
	pair: string;
	/** The standby agent: status, promote, demote. */
	standbyUrl: string;
	/** The standby agent's public key "ed25519:..." (`standby.agentPublicKey`): its answers must verify with it. */
	standbyKey: string;
	/** The primary's agent, for sync after failback (optional). */
	primaryUrl?: string;
	/** The primary agent's public key (`primary.agentPublicKey`); required to talk to primaryUrl. */
	primaryKey?: string;
	/** The signing key, or its import in progress (a bad key fails every call with its reason). */
	privateKey: CryptoKey | Promise<CryptoKey>;
	fetch?: typeof fetch;
	now?: () => number;
	/** Deadline of one HTTP attempt, ms. */
	timeoutMs: number;
	/** Sleep between attempts; injectable so tests need no real waiting. */
	sleep?: (ms: number) => Promise<void>;
}

export interface CommandCallOptions {
	/** How long the agent may hold the request waiting for the operation to finish. */
	waitMs: number;
	/** The whole call, retries included, ends when this aborts (the tick deadline). */
	signal?: AbortSignal;
}

// Two retries: a lost packet or an agent restart is ridden out, a dead agent is reported within the tick.
const ATTEMPTS = 3;
const BACKOFF_MS = [200, 600];
// An answer body is a status or an operation record: a few KB. Anything larger is not our agent.
const MAX_RESPONSE_BYTES = 256 * 1024;

type Attempt =
	| { kind: "ok"; status: number; body: unknown }
	| { kind: "bad-key"; message: string }
	/**
	 * The answer is not provably from the agent configured for this side: nothing in it is used.
	 * `said`: the error code and message its body claims (unverified), a hint for a fix only.
	 */
	| {
			kind: "bad-answer";
			message: string;
			code: AnswerFailureCode;
			said: { code: string; message: string } | undefined;
	  }
	| { kind: "http-error"; status: number; code: string; message: string }
	| { kind: "network"; message: string };

function joinUrl(base: string, path: string): string {
	return base.replace(/\/+$/, "") + path;
}

/** Stops reading past the limit: an endpoint streaming without end must not fill the Durable Object's memory. */
async function readBytes(res: Response): Promise<Uint8Array> {
	if (res.body === null) return new Uint8Array(0);
	const reader = res.body.getReader();
	const chunks: Uint8Array[] = [];
	let size = 0;
	for (;;) {
		const { done, value } = await reader.read();
		if (done) break;
		size += value.byteLength;
		if (size > MAX_RESPONSE_BYTES) {
			await reader.cancel().catch(() => {});
			throw new Error(`response over ${MAX_RESPONSE_BYTES} bytes`);
		}
		chunks.push(value);
	}
	const bytes = new Uint8Array(size);
	let offset = 0;
	for (const chunk of chunks) {
		bytes.set(chunk, offset);
		offset += chunk.byteLength;
	}
	return bytes;
}

function parseJson(bytes: Uint8Array): unknown {
	const text = new TextDecoder().decode(bytes);
	try {
		return text.length === 0 ? null : JSON.parse(text);
	} catch {
		return undefined;
	}
}

/** What an unverified answer said, for the operator only (never acted on): control characters stripped. */
function unverifiedSummary(status: number, bytes: Uint8Array): string {
	const text = new TextDecoder().decode(bytes.slice(0, 200)).replace(/[\u0000-\u001f\u007f]/g, " ");
	return `HTTP ${status}: ${text}`;
}

/** One side's agent as the client knows it: where, its key, and the audience requests are signed for. */
interface AgentTarget {
	side: Role;
	url: string;
	identity: Promise<{ publicKey: CryptoKey; audience: Audience }>;
}

function retryable(a: Attempt): boolean {
	// A bad answer is not retried: a forger on the path answers every attempt the same way.
	return a.kind === "network" || (a.kind === "http-error" && (a.status >= 500 || a.status === 429));
}

function describeStep(op: OperationRecord): string {
	const bad = op.steps.find((s) => s.status === "failed" || s.status === "interrupted");
	if (!bad) return op.error ?? "";
	const why = bad.error ?? (bad.exitCode != null ? `exit ${bad.exitCode}` : bad.status);
	return `step ${bad.step} ${bad.status}: ${why}`;
}

export function operationOutcome(cmd: Command, op: OperationRecord): CommandOutcome {
	const base = { action: cmd.action, term: cmd.term, opId: cmd.opId };
	const done = op.steps.filter((s) => s.status === "succeeded").map((s) => s.step);
	switch (op.status) {
		case "running":
			return { ...base, result: "running", detail: `running; done: ${done.join(", ") || "none"}` };
		case "succeeded": {
			const ms = op.finishedAt !== undefined ? ` in ${op.finishedAt - op.startedAt} ms` : "";
			const warnings = op.steps.flatMap((s) => s.warnings ?? []);
			return {
				...base,
				result: "succeeded",
				detail: `${done.join(", ")}${ms}`,
				...(warnings.length === 0 ? {} : { warnings }),
			};
		}
		case "failed":
			return { ...base, result: "failed", detail: describeStep(op) || "failed" };
		case "interrupted":
			return {
				...base,
				result: "failed",
				detail: `interrupted by an agent restart (${describeStep(op) || "no step recorded"})`,
			};
		default:
			return op.status satisfies never;
	}
}

function targetFor(side: Role, pair: string, url: string, keyText: string): AgentTarget {
	const identity = (async () => ({
		publicKey: await importPublicKey(keyText),
		audience: { pair, side, agent: await agentFingerprint(keyText) },
	}))();
	identity.catch(() => {}); // Reported per call, as an outcome.
	return { side, url, identity };
}

/**
 * Reads one agent's status and accepts it only when the answer is signed by that agent's key over this
 * request's nonce and matches the protocol. `StatusResponse` is then that agent's own word (term within
 * MAX_TERM by the schema); otherwise `reason` says why it is not, and nothing from the answer is used.
 */
export type VerifiedStatus = { ok: true; status: StatusResponse } | StatusFailure;

/**
 * Why a status read failed, for choosing a fix (the doctor); never acted on.
 * - not-configured: no URL and key for that side; unreachable: no answer (network, timeout);
 * - key: WATCHDOG_PRIVATE_KEY or the side's agentPublicKey does not import (`reason` names which);
 * - unverified: an answer not signed by the side's agentPublicKey for this request (`answerCode`);
 *   `agentCode`/`agentMessage` are what its body claims, unverified: the real agent refuses an
 *   unauthenticated request (unknown-key, wrong-audience, stale-timestamp) without signing it;
 * - refused: a signed error answer (`agentCode` verified); protocol: a signed answer that is not a v2 status.
 */
export type StatusFailure = {
	ok: false;
	reason: string;
	cause: "not-configured" | "unreachable" | "key" | "unverified" | "refused" | "protocol";
	answerCode?: AnswerFailureCode;
	agentCode?: string;
	agentMessage?: string;
};

/**
 * An agent's `local` as decide() sees it. `ageMs` is measured on the agent's own clock (its `now`
 * minus its `checkedAt`), so a skewed clock between the Worker and the VPS does not age the report.
 */
export function gatewayReport(local: LocalGateway, agentNow: number): GatewayReport {
	return {
		state: local.state,
		failing: [...local.failing],
		...(local.uptimeMs !== undefined ? { uptimeMs: local.uptimeMs } : {}),
		detail: local.detail,
		ageMs: Math.max(0, Math.round(agentNow - local.checkedAt)),
	};
}

/**
 * The standby's status as decide() reads it. `ageMs`: how old the status already was when read (0 for
 * an answer to this tick's request; the time since a dial-out agent pushed it), added to the peer
 * probe's age. `local` and `maintenanceUntil` are left out for agents older than the fields, so
 * decide() can tell "not reported" from "none".
 */
export function standbyViewOf(s: StatusResponse, ageMs: number): StandbyView {
	const view: StandbyView = {
		reachable: true,
		term: s.term,
		gatewayActive: s.gatewayActive,
		primary: s.peer
			? {
					ok: s.peer.ok,
					consecutiveFailures: s.peer.consecutiveFailures,
					consecutiveSuccesses: s.peer.consecutiveSuccesses,
					ageMs: s.peer.ageMs + ageMs,
					latencyMs: s.peer.latencyMs,
					...(s.peer.reason ? { reason: s.peer.reason } : {}),
					// The status tells a refused or misdirected probe (3xx, 4xx) from a down one (5xx).
					...(s.peer.status !== undefined ? { status: s.peer.status } : {}),
				}
			: null,
	};
	if (s.local !== undefined) view.gateway = s.local ? gatewayReport(s.local, s.now) : null;
	if (s.maintenanceUntil !== undefined) view.maintenanceUntil = s.maintenanceUntil;
	if (s.replication !== undefined) view.replication = replicationReport(s, ageMs);
	return view;
}

/**
 * The primary agent's status as decide() reads it; an agent older than `local` has `gateway: null`,
 * one older than `replication` has no `replication`. `ageMs` as for standbyViewOf.
 */
export function primaryViewOf(s: StatusResponse, ageMs = 0): PrimaryAgentView {
	const view: PrimaryAgentView = {
		reachable: true,
		term: s.term,
		gateway: s.local ? gatewayReport(s.local, s.now) : null,
		maintenanceUntil: s.maintenanceUntil ?? null,
	};
	if (s.replication !== undefined) view.replication = replicationReport(s, ageMs);
	return view;
}

function replicationReport(s: StatusResponse, ageMs: number): ReplicationReport | null {
	return s.replication ? { status: s.replication, agentNow: s.now, ageMs } : null;
}

export function createSignedAgentClient(opts: SignedAgentClientOptions) {
	const doFetch = opts.fetch ?? ((...a: Parameters<typeof fetch>) => fetch(...a));
	const now = opts.now ?? Date.now;
	const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
	const standby = targetFor("standby", opts.pair, opts.standbyUrl, opts.standbyKey);
	const primary =
		opts.primaryUrl !== undefined && opts.primaryKey !== undefined
			? targetFor("primary", opts.pair, opts.primaryUrl, opts.primaryKey)
			: null;

	async function attempt(
		target: AgentTarget,
		method: "GET" | "POST",
		path: string,
		body: string | undefined,
		timeoutMs: number,
		outer?: AbortSignal,
		lease?: Lease,
	): Promise<Attempt> {
		let privateKey: CryptoKey;
		try {
			privateKey = await opts.privateKey;
		} catch (e) {
			return { kind: "bad-key", message: `WATCHDOG_PRIVATE_KEY: ${(e as Error).message}` };
		}
		let identity: Awaited<AgentTarget["identity"]>;
		try {
			identity = await target.identity;
		} catch (e) {
			return { kind: "bad-key", message: `${target.side}.agentPublicKey: ${(e as Error).message}` };
		}
		// A fresh timestamp and nonce every attempt: the agent rejects a replayed nonce.
		const signed = await signRequest({
			method,
			path,
			body,
			audience: identity.audience,
			privateKey,
			now: now(),
		});
		const nonce = signed[HEADERS.nonce] ?? "";
		const headers: Record<string, string> = { ...signed };
		if (body !== undefined) headers["content-type"] = "application/json";
		// Signed on its own with the same key (protocol/lease.ts), not covered by the request signature.
		if (lease !== undefined) headers[HEADERS.lease] = await signLease(lease, privateKey);
		// Cleared when done: a pending timer would keep the Durable Object awake.
		const dl = deadline(timeoutMs, outer);
		try {
			const res = await doFetch(joinUrl(target.url, path), {
				method,
				headers,
				body,
				signal: dl.signal,
				redirect: "manual",
			});
			const bytes = await readBytes(res);
			// Before anything in the answer is believed: a term, a result or even an error code.
			const verdict: AnswerVerdict = await verifyAnswer({
				method,
				path,
				nonce,
				audience: identity.audience,
				status: res.status,
				body: bytes,
				headers: res.headers,
				publicKey: identity.publicKey,
			});
			if (!verdict.ok) {
				const claimed = ErrorResponseSchema.safeParse(parseJson(bytes));
				return {
					kind: "bad-answer",
					message: `${target.side} agent's answer not accepted (${verdict.code}): ${verdict.message}; it said (unverified) ${unverifiedSummary(res.status, bytes)}`,
					code: verdict.code,
					said: claimed.success ? claimed.data.error : undefined,
				};
			}
			const parsed = parseJson(bytes);
			if (res.ok) return { kind: "ok", status: res.status, body: parsed };
			const err = ErrorResponseSchema.safeParse(parsed);
			return err.success
				? { kind: "http-error", status: res.status, ...err.data.error }
				: {
						kind: "http-error",
						status: res.status,
						code: "unexpected",
						message: `HTTP ${res.status} without an agent error body (is ${target.url} the failover-agent?)`,
					};
		} catch (e) {
			const name = (e as { name?: string }).name;
			return {
				kind: "network",
				message:
					name === "TimeoutError" || name === "AbortError"
						? `no answer within ${timeoutMs} ms`
						: `connect error: ${(e as Error).message ?? String(e)}`,
			};
		} finally {
			dl.clear();
		}
	}

	async function call(
		target: AgentTarget,
		method: "GET" | "POST",
		path: string,
		body: string | undefined,
		timeoutMs: number,
		signal?: AbortSignal,
		lease?: Lease,
	): Promise<Attempt> {
		let last: Attempt = { kind: "network", message: "not attempted" };
		for (let i = 0; i < ATTEMPTS; i++) {
			if (signal?.aborted) break;
			last = await attempt(target, method, path, body, timeoutMs, signal, lease);
			if (!retryable(last) || i === ATTEMPTS - 1) break;
			await sleep(BACKOFF_MS[i] ?? 1000);
		}
		return last;
	}

	/** GET /v1/status of one side's agent, verified (see VerifiedStatus). */
	async function readStatus(
		side: Role,
		signal?: AbortSignal,
		lease?: Lease,
	): Promise<VerifiedStatus> {
		const target = side === "standby" ? standby : primary;
		if (target === null)
			return {
				ok: false,
				reason: `no ${side} agent URL and key configured`,
				cause: "not-configured",
			};
		const a = await call(target, "GET", ROUTES.status, undefined, opts.timeoutMs, signal, lease);
		if (a.kind === "network") return { ok: false, reason: a.message, cause: "unreachable" };
		if (a.kind === "bad-key") return { ok: false, reason: a.message, cause: "key" };
		if (a.kind === "bad-answer")
			return {
				ok: false,
				reason: a.message,
				cause: "unverified",
				answerCode: a.code,
				...(a.said
					? { agentCode: a.said.code.slice(0, 64), agentMessage: a.said.message.slice(0, 500) }
					: {}),
			};
		if (a.kind === "http-error") {
			return {
				ok: false,
				reason: `agent answered ${a.status} ${a.code}: ${a.message}`,
				cause: "refused",
				agentCode: a.code,
			};
		}
		const parsed = StatusResponseSchema.safeParse(a.body);
		if (!parsed.success) {
			const term = (a.body as { term?: unknown } | null)?.term;
			const why =
				typeof term === "number" && !TermSchema.safeParse(term).success
					? `its term ${term} is outside 0..${MAX_TERM} (not adopted)`
					: "it did not match protocol v2";
			return { ok: false, reason: `${side} agent's status refused: ${why}`, cause: "protocol" };
		}
		return { ok: true, status: parsed.data };
	}

	return {
		readStatus,

		/** `lease`: this tick's lease (worker/src/lease.ts buildLease), signed and sent as x-fg-lease. */
		async status(signal?: AbortSignal, lease?: Lease): Promise<StandbyView> {
			const read = await readStatus("standby", signal, lease);
			if (!read.ok) return { reachable: false, reason: read.reason };
			return standbyViewOf(read.status, 0);
		},

		/**
		 * The primary's own agent (GET /v1/status), read every tick for its gateway's local readiness and
		 * its maintenance window. `undefined` when no primary agent URL is configured (the restart grace
		 * is then off). An agent older than `local` reads as reachable with `gateway: null`.
		 */
		async primaryStatus(
			signal?: AbortSignal,
			lease?: Lease,
		): Promise<PrimaryAgentView | undefined> {
			if (!opts.primaryUrl) return undefined;
			const read = await readStatus("primary", signal, lease);
			if (!read.ok) return { reachable: false, reason: read.reason };
			return primaryViewOf(read.status);
		},

		async command(cmd: Command, call_: CommandCallOptions): Promise<CommandOutcome> {
			const base = { action: cmd.action, term: cmd.term, opId: cmd.opId };
			const target = cmd.target === "primary" ? primary : standby;
			if (target === null) {
				return {
					...base,
					result: "unsupported",
					detail: `no ${cmd.target} agent URL and agentPublicKey configured`,
				};
			}
			// Never sent: the agent's schema rejects it, and a term past the bound is a bug or a poisoning.
			if (!TermSchema.safeParse(cmd.term).success) {
				return {
					...base,
					result: "rejected",
					detail: `term ${cmd.term} is outside 0..${MAX_TERM}: not sent (reset the pair's term)`,
				};
			}
			const waitMs = Math.max(0, Math.min(call_.waitMs, MAX_WAIT_MS));
			const req: CommandRequestInput = { opId: cmd.opId, term: cmd.term, waitMs };
			// The agent may hold the request for waitMs; the HTTP deadline covers that plus the usual margin.
			const a = await call(
				target,
				"POST",
				ACTION_ROUTES[cmd.action],
				JSON.stringify(req),
				waitMs + opts.timeoutMs,
				call_.signal,
			);
			if (a.kind === "bad-key") return { ...base, result: "unsupported", detail: a.message };
			if (a.kind === "network" || a.kind === "bad-answer")
				return { ...base, result: "unreachable", detail: a.message };
			if (a.kind === "http-error") {
				const result = a.status >= 500 || a.status === 429 ? "unreachable" : "rejected";
				return { ...base, result, detail: `${a.status} ${a.code}: ${a.message}` };
			}
			const op = OperationRecordSchema.safeParse(a.body);
			if (!op.success) {
				return { ...base, result: "unreachable", detail: "agent answer did not match protocol v2" };
			}
			// A signed record for another operation is not this command's outcome.
			if (op.data.opId !== cmd.opId || op.data.action !== cmd.action) {
				return {
					...base,
					result: "unreachable",
					detail: `agent answered with operation ${op.data.opId} (${op.data.action}), not ${cmd.opId}`,
				};
			}
			return operationOutcome(cmd, op.data);
		},
	};
}

export type SignedAgentClient = ReturnType<typeof createSignedAgentClient>;
