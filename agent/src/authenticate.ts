// Middleware for signed routes: body limit, content type, signature, replay cache, auth-failure rate limit.
import type { Context, MiddlewareHandler } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import {
	type Audience,
	type ErrorCode,
	MAX_BODY_BYTES,
	MAX_SKEW_MS,
	signAnswer,
	verifyRequest,
} from "../../protocol";
import type { AuthFailureLimiter } from "./auth-limiter";
import { ProtocolError } from "./errors";
import type { Logger } from "./log";
import { readBodyLimited } from "./read-body";
import type { ReplayCache } from "./replay-cache";

export type AuthVariables = {
	/** The exact bytes that were signed. */
	body: Uint8Array;
	keyId: string;
};

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
	clientAddress: (c: Context) => string;
}

/** The socket's peer address under @hono/node-server; "unknown" elsewhere (e.g. app.request in tests). */
export function socketAddress(c: Context): string {
	const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined;
	return env?.incoming?.socket?.remoteAddress ?? "unknown";
}

function isJson(contentType: string | undefined): boolean {
	const mime = contentType?.split(";")[0]?.trim().toLowerCase();
	return mime === "application/json";
}

export function authenticate(deps: AuthDeps): MiddlewareHandler<{ Variables: AuthVariables }> {
	return async (c, next) => {
		const source = deps.clientAddress(c);
		const path = new URL(c.req.url).pathname;
		const method = c.req.method;

		/**
		 * Every reject from an unauthenticated sender counts against its address; past the limit the answer
		 * becomes 429. A correctly signed request is never refused for its address: behind a tunnel every
		 * caller shares 127.0.0.1, and an attacker must not be able to lock the watchdog out.
		 */
		const reject = (status: ContentfulStatusCode, code: ErrorCode, message: string): never => {
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

		const read = await readBodyLimited(c.req.raw, MAX_BODY_BYTES);
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

		if (method === "POST" && !isJson(c.req.header("content-type"))) {
			reject(
				415,
				"unsupported-media-type",
				"POST bodies must be sent with content-type: application/json",
			);
		}

		const verdict = await verifyRequest({
			method,
			path,
			headers: c.req.raw.headers,
			body: bytes,
			publicKeys: deps.publicKeys,
			audience: deps.audience,
			now: deps.now(),
			maxSkewMs: MAX_SKEW_MS,
		});
		if (!verdict.ok) {
			const status =
				verdict.code === "malformed-headers" ? 400 : verdict.code === "wrong-audience" ? 403 : 401;
			reject(status, verdict.code, verdict.message);
			return;
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

		c.set("body", bytes);
		c.set("keyId", verdict.keyId);
		await next();

		// Only answers to authenticated requests are signed: the nonce is then the watchdog's own, so the
		// agent never signs over a nonce an attacker chose. Errors raised by the route (stale-term,
		// action-not-allowed) reach here as responses already, and are signed too.
		const answer = new Uint8Array(await c.res.clone().arrayBuffer());
		const signed = await signAnswer({
			method,
			path,
			nonce: verdict.nonce,
			audience: deps.audience,
			status: c.res.status,
			body: answer,
			privateKey: deps.agentKey,
		});
		const headers = new Headers(c.res.headers);
		for (const [name, value] of Object.entries(signed)) headers.set(name, value);
		c.res = new Response(answer, { status: c.res.status, headers });
	};
}
