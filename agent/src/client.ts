// A signed client for the agent API, built on protocol/: used by `failover-agent call` and by tests.
import {
	ACTION_ROUTES,
	type Audience,
	type CommandAction,
	type CommandRequestInput,
	ErrorResponseSchema,
	HEADERS,
	type OperationRecord,
	OperationRecordSchema,
	ROUTES,
	type StatusResponse,
	StatusResponseSchema,
	signRequest,
	verifyAnswer,
} from "../../protocol";

export type CallAction = "status" | CommandAction;

export interface CallOptions {
	/** The agent's base URL, e.g. http://127.0.0.1:18790. */
	baseUrl: string;
	action: CallAction;
	/** Pair, side and fingerprint of the agent at baseUrl: signed into the request. */
	audience: Audience;
	/** The watchdog's key. */
	privateKey: CryptoKey;
	/**
	 * The agent's public key: its answer must be signed with it for this request, or the call ends as
	 * "bad-response" and nothing in the answer is trusted.
	 */
	agentPublicKey: CryptoKey;
	term?: number;
	opId?: string;
	waitMs?: number;
	/** Whole-call deadline. Default: waitMs plus 5 s for the agent's own work and the network. */
	timeoutMs?: number;
	fetch?: typeof fetch;
	now?: () => number;
}

export type CallResult =
	| { ok: true; httpStatus: number; body: StatusResponse | OperationRecord }
	| { ok: false; kind: "rejected"; httpStatus: number; code: string; message: string }
	| { ok: false; kind: "unreachable"; message: string }
	/** A 3xx: never followed (the signed request would go to a server the caller did not name). */
	| { ok: false; kind: "redirected"; httpStatus: number; location: string }
	| { ok: false; kind: "bad-response"; httpStatus: number; message: string };

const SLACK_MS = 5_000;

/** One signed request, no retries: a command is idempotent by opId, so re-running the call is the retry. */
export async function callAgent(options: CallOptions): Promise<CallResult> {
	const doFetch = options.fetch ?? fetch;
	const isStatus = options.action === "status";
	const path = isStatus ? ROUTES.status : ACTION_ROUTES[options.action as CommandAction];
	const waitMs = options.waitMs ?? 0;
	let body = "";
	if (!isStatus) {
		const command: CommandRequestInput = {
			opId: options.opId ?? `cli-${Date.now()}-${crypto.randomUUID().slice(0, 8)}`,
			term: options.term ?? 0,
			waitMs,
		};
		body = JSON.stringify(command);
	}
	const method = isStatus ? "GET" : "POST";
	const signed = await signRequest({
		method,
		path,
		body,
		audience: options.audience,
		privateKey: options.privateKey,
		...(options.now ? { now: options.now() } : {}),
	});
	const url = new URL(path, options.baseUrl);
	let response: Response;
	let text: string;
	let raw: Uint8Array;
	try {
		response = await doFetch(url, {
			method,
			headers: { ...signed, ...(isStatus ? {} : { "content-type": "application/json" }) },
			...(isStatus ? {} : { body }),
			signal: AbortSignal.timeout(options.timeoutMs ?? waitMs + SLACK_MS),
			// A signed command is for the agent named, and only for it: a redirect (a compromised or
			// misconfigured proxy, a hostile agent) must not carry it, freshly signed, to another one.
			redirect: "manual",
		});
		if (response.status >= 300 && response.status < 400) {
			await response.body?.cancel().catch(() => {});
			return {
				ok: false,
				kind: "redirected",
				httpStatus: response.status,
				location: response.headers.get("location") ?? "(no Location header)",
			};
		}
		raw = new Uint8Array(await response.arrayBuffer());
		text = new TextDecoder().decode(raw);
	} catch (error) {
		const err = error as Error & { cause?: { code?: string } };
		const why =
			err.name === "TimeoutError"
				? "no answer before the deadline"
				: (err.cause?.code ?? err.message);
		return { ok: false, kind: "unreachable", message: `${url.origin}: ${why}` };
	}
	// Checked before anything in the answer is believed; an unsigned refusal is shown, marked unverified.
	const nonce = signed[HEADERS.nonce] ?? "";
	const verdict = await verifyAnswer({
		method,
		path,
		nonce,
		audience: options.audience,
		status: response.status,
		body: raw,
		headers: response.headers,
		publicKey: options.agentPublicKey,
	});
	if (!verdict.ok) {
		return {
			ok: false,
			kind: "bad-response",
			httpStatus: response.status,
			message: `${verdict.code}: ${verdict.message}; unverified answer: ${text.slice(0, 200)}`,
		};
	}
	let json: unknown;
	try {
		json = JSON.parse(text);
	} catch {
		return {
			ok: false,
			kind: "bad-response",
			httpStatus: response.status,
			message: `not JSON: ${text.slice(0, 200)}`,
		};
	}
	if (!response.ok) {
		const error = ErrorResponseSchema.safeParse(json);
		if (!error.success) {
			return {
				ok: false,
				kind: "bad-response",
				httpStatus: response.status,
				message: text.slice(0, 200),
			};
		}
		return { ok: false, kind: "rejected", httpStatus: response.status, ...error.data.error };
	}
	const parsed = (isStatus ? StatusResponseSchema : OperationRecordSchema).safeParse(json);
	if (!parsed.success) {
		return {
			ok: false,
			kind: "bad-response",
			httpStatus: response.status,
			message: "answer does not match the protocol schema",
		};
	}
	return { ok: true, httpStatus: response.status, body: parsed.data };
}
