// Signed HTTP client for the agents of one pair: reads the standby's status and sends promote/demote/sync.
import {
	ACTION_ROUTES,
	type CommandRequestInput,
	ErrorResponseSchema,
	MAX_WAIT_MS,
	type OperationRecord,
	OperationRecordSchema,
	ROUTES,
	type StatusResponse,
	StatusResponseSchema,
	signRequest,
} from "../../protocol";
import { deadline } from "./deadline";
import type { Command, CommandOutcome, StandbyView } from "./types";

export interface SignedAgentClientOptions {
	/** The standby agent: status, promote, demote. */
	standbyUrl: string;
	/** The primary's agent, for sync after failback (optional). */
	primaryUrl?: string;
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
	| { kind: "http-error"; status: number; code: string; message: string }
	| { kind: "network"; message: string };

function joinUrl(base: string, path: string): string {
	return base.replace(/\/+$/, "") + path;
}

/** Stops reading past the limit: an endpoint streaming without end must not fill the Durable Object's memory. */
async function readJson(res: Response): Promise<unknown> {
	if (res.body === null) return null;
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
	const text = new TextDecoder().decode(bytes);
	return text.length === 0 ? null : JSON.parse(text);
}

function retryable(a: Attempt): boolean {
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
			return { ...base, result: "succeeded", detail: `${done.join(", ")}${ms}` };
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

/**
 * The standby's status as decide() reads it. `ageMs`: how old the status already was when read (0 for
 * an answer to this tick's request; the time since a dial-out agent pushed it), added to every age in it.
 */
export function standbyViewOf(s: StatusResponse, ageMs: number): StandbyView {
	return {
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
				}
			: null,
	};
}

export function createSignedAgentClient(opts: SignedAgentClientOptions) {
	const doFetch = opts.fetch ?? ((...a: Parameters<typeof fetch>) => fetch(...a));
	const now = opts.now ?? Date.now;
	const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));

	async function attempt(
		url: string,
		method: "GET" | "POST",
		path: string,
		body: string | undefined,
		timeoutMs: number,
		outer?: AbortSignal,
	): Promise<Attempt> {
		let privateKey: CryptoKey;
		try {
			privateKey = await opts.privateKey;
		} catch (e) {
			return { kind: "bad-key", message: `WATCHDOG_PRIVATE_KEY: ${(e as Error).message}` };
		}
		// A fresh timestamp and nonce every attempt: the agent rejects a replayed nonce.
		const signed = await signRequest({ method, path, body, privateKey, now: now() });
		const headers: Record<string, string> = { ...signed };
		if (body !== undefined) headers["content-type"] = "application/json";
		// Cleared when done: a pending timer would keep the Durable Object awake.
		const dl = deadline(timeoutMs, outer);
		try {
			const res = await doFetch(joinUrl(url, path), {
				method,
				headers,
				body,
				signal: dl.signal,
				redirect: "manual",
			});
			const parsed = await readJson(res).catch(() => undefined);
			if (res.ok) return { kind: "ok", status: res.status, body: parsed };
			const err = ErrorResponseSchema.safeParse(parsed);
			return err.success
				? { kind: "http-error", status: res.status, ...err.data.error }
				: {
						kind: "http-error",
						status: res.status,
						code: "unexpected",
						message: `HTTP ${res.status} without an agent error body (is ${url} the failover-agent?)`,
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
		url: string,
		method: "GET" | "POST",
		path: string,
		body: string | undefined,
		timeoutMs: number,
		signal?: AbortSignal,
	): Promise<Attempt> {
		let last: Attempt = { kind: "network", message: "not attempted" };
		for (let i = 0; i < ATTEMPTS; i++) {
			if (signal?.aborted) break;
			last = await attempt(url, method, path, body, timeoutMs, signal);
			if (!retryable(last) || i === ATTEMPTS - 1) break;
			await sleep(BACKOFF_MS[i] ?? 1000);
		}
		return last;
	}

	return {
		async status(signal?: AbortSignal): Promise<StandbyView> {
			const a = await call(
				opts.standbyUrl,
				"GET",
				ROUTES.status,
				undefined,
				opts.timeoutMs,
				signal,
			);
			if (a.kind === "network" || a.kind === "bad-key")
				return { reachable: false, reason: a.message };
			if (a.kind === "http-error") {
				return { reachable: false, reason: `agent answered ${a.status} ${a.code}: ${a.message}` };
			}
			const parsed = StatusResponseSchema.safeParse(a.body);
			if (!parsed.success) {
				return { reachable: false, reason: "agent status did not match protocol v1" };
			}
			return standbyViewOf(parsed.data, 0);
		},

		async command(cmd: Command, call_: CommandCallOptions): Promise<CommandOutcome> {
			const base = { action: cmd.action, term: cmd.term, opId: cmd.opId };
			const url = cmd.target === "primary" ? opts.primaryUrl : opts.standbyUrl;
			if (!url) {
				return { ...base, result: "unsupported", detail: `no ${cmd.target} agent URL configured` };
			}
			const waitMs = Math.max(0, Math.min(call_.waitMs, MAX_WAIT_MS));
			const req: CommandRequestInput = { opId: cmd.opId, term: cmd.term, waitMs };
			// The agent may hold the request for waitMs; the HTTP deadline covers that plus the usual margin.
			const a = await call(
				url,
				"POST",
				ACTION_ROUTES[cmd.action],
				JSON.stringify(req),
				waitMs + opts.timeoutMs,
				call_.signal,
			);
			if (a.kind === "bad-key") return { ...base, result: "unsupported", detail: a.message };
			if (a.kind === "network") return { ...base, result: "unreachable", detail: a.message };
			if (a.kind === "http-error") {
				const result = a.status >= 500 || a.status === 429 ? "unreachable" : "rejected";
				return { ...base, result, detail: `${a.status} ${a.code}: ${a.message}` };
			}
			const op = OperationRecordSchema.safeParse(a.body);
			if (!op.success) {
				return { ...base, result: "unreachable", detail: "agent answer did not match protocol v1" };
			}
			return operationOutcome(cmd, op.data);
		},
	};
}

export type SignedAgentClient = ReturnType<typeof createSignedAgentClient>;
