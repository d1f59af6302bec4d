// The gate in front of the routes anyone may call (/, /healthz, /api/v1/pairs): a rate limit per client address.
import type { MiddlewareHandler } from "hono";
import { authenticate } from "./auth";
import { clientAddress, LIMITS, withinLimit } from "./client-limits";
import { apiError } from "./http-error";

/**
 * Requests without the valid admin token count against the anonymous limit of their address (the
 * ANON_LIMITER binding, or this isolate's counter); past it they get 429 and never reach the Durable
 * Object. Token holders pass: their requests are few and guarded by the token itself.
 */
export const anonymousGate: MiddlewareHandler<{ Bindings: Env }> = async (c, next) => {
	if ((await authenticate(c)) !== "valid") {
		const ip = clientAddress(c.req.raw.headers);
		if (ip !== undefined && !(await withinLimit(c.env, "anonymous", ip))) {
			const wait = Math.ceil(LIMITS.anonymous.periodMs / 1000);
			throw apiError(
				429,
				"rate-limited",
				`too many requests from your address (${LIMITS.anonymous.limit} a minute without the admin token); try again in a minute`,
				{ headers: { "retry-after": String(wait) } },
			);
		}
	}
	await next();
};
