// The check in front of signed routes: body limit, content type, signature, replay cache, auth-failure rate limit; signs the answer.
import {
	type Audience,
	type ErrorCode,
	MAX_BODY_BYTES,
	MAX_SKEW_MS,
	signAnswer,
	verifyRequest,
} from "../../protocol";
import type { AgentAnswer, AgentRequest } from "./agent-http";
import type { AuthFailureLimiter } from "./auth-limiter";
import { ProtocolError } from "./errors";
import type { Logger } from "./log";
import type { ReplayCache } from "./replay-cache";

/** What a signed route learns from the check: the exact body bytes that were signed, and the key. */
export interface Authenticated {
	body: Uint8Array;
	keyId: string;
}

export interface AuthDeps {
	publicKeys: readonly CryptoKey[];
	/** This agent's audience: a request signed for any other is refused with 403 wrong-audience. */
	audience: Audience;
	/** The agent's own key: every answer to an authenticated request is signed with it. */
	agentKey: CryptoKey;
	now: () => number;
	replay: ReplayCache;
	limiter: AuthFailureLimiter;
	log: Logger;
	clientAddress: (req: AgentRequest) => string;
}

/** The peer address the transport saw (node:http's socket; "unknown" when it has none). */
export function socketAddress(req: AgentRequest): string {
	return req.source;
}

function isJson(contentType: string | undefined): boolean {
	const mime = contentType?.split(";")[0]?.trim().toLowerCase();
	return mime === "application/json";
}

/**
 * Returns the check: it verifies `req`, runs `route` with what was authenticated, and signs the
 * route's answer. A refusal throws ProtocolError (unsigned: its nonce may be an attacker's). `route`
 * must answer its own errors (never throw), so that those answers are signed too.
 */
export function authenticate(
	deps: AuthDeps,
): (
	req: AgentRequest,
	route: (auth: Authenticated) => Promise<AgentAnswer>,
) => Promise<AgentAnswer> {
	return async (req, route) => {
		const source = deps.clientAddress(req);
		const path = req.path;
		const method = req.method;

		/**
		 * Every reject from an unauthenticated sender counts against its address; past the limit the answer
		 * becomes 429. A correctly signed request is never refused for its address: behind a tunnel every
		 * caller shares 127.0.0.1, and an attacker must not be able to lock the watchdog out.
		 */
		const reject = (status: number, code: ErrorCode, message: string): never => {
			const limit = deps.limiter.recordFailure(source, deps.now());
			if (limit.justTripped) {
				deps.log.warn("too many rejected requests; answering 429 until the window ends", {
					source,
				});
			}
			if (limit.limited) {
				const seconds = Math.max(1, Math.ceil(limit.retryAfterMs / 1000));
				throw new ProtocolError(
					429,
					"rate-limited",
					`too many rejected requests from this address; last reason: ${code}; retry in ${seconds} s`,
					// Not logged per request past the limit (the trip was): a flood must not flood the journal.
					{ headers: { "retry-after": String(seconds) }, logged: true },
				);
			}
			deps.log.warn("request rejected", { source, method, path, code, reason: message });
			throw new ProtocolError(status, code, message, { logged: true });
		};

		const read = await req.readBody(MAX_BODY_BYTES);
		if (!read.ok) {
			if (read.reason === "too-large") {
				reject(
					413,
					"body-too-large",
					`request body is over the limit of ${MAX_BODY_BYTES} bytes (16 KiB)`,
				);
			}
			reject(400, "invalid-body", "request body could not be read");
		}
		const bytes = read.ok ? read.bytes : new Uint8Array(0);

		if (method === "POST" && !isJson(req.headers["content-type"])) {
			reject(
				415,
				"unsupported-media-type",
				"POST bodies must be sent with content-type: application/json",
			);
		}

		const verdict = await verifyRequest({
			method,
			path,
			headers: req.headers,
			body: bytes,
			publicKeys: deps.publicKeys,
			audience: deps.audience,
			now: deps.now(),
			maxSkewMs: MAX_SKEW_MS,
		});
		if (!verdict.ok) {
			const status =
				verdict.code === "malformed-headers" ? 400 : verdict.code === "wrong-audience" ? 403 : 401;
			return reject(status, verdict.code, verdict.message);
		}

		const claim = await deps.replay.claim(verdict.nonce, verdict.timestamp, deps.now());
		if (claim === "replayed") {
			reject(
				401,
				"replayed-nonce",
				"this nonce was already used: every request needs a fresh nonce (a replay?)",
			);
		}
		if (claim === "full") {
			throw new ProtocolError(429, "rate-limited", "too many signed requests in the last minute", {
				headers: { "retry-after": "60" },
			});
		}

		const answer = await route({ body: bytes, keyId: verdict.keyId });

		// Only answers to authenticated requests are signed: the nonce is then the watchdog's own, so the
		// agent never signs over a nonce an attacker chose. Errors raised by the route (stale-term,
		// action-not-allowed) reach here as answers already, and are signed too.
		const signed = await signAnswer({
			method,
			path,
			nonce: verdict.nonce,
			audience: deps.audience,
			status: answer.status,
			body: answer.body,
			privateKey: deps.agentKey,
		});
		return { ...answer, headers: { ...answer.headers, ...signed } };
	};
}
