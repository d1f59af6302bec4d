// Admin bearer token check for the operator endpoints, compared in constant time.
import type { MiddlewareHandler } from "hono";
import { apiError } from "./http-error";

const CHALLENGE = 'Bearer realm="failover-gateway"';

/** Equal when the tokens are; takes the same time whatever they are (both are hashed to 32 bytes first). */
export async function tokensEqual(given: string, expected: string): Promise<boolean> {
	const enc = new TextEncoder();
	const [a, b] = await Promise.all([
		crypto.subtle.digest("SHA-256", enc.encode(given)),
		crypto.subtle.digest("SHA-256", enc.encode(expected)),
	]);
	const subtle = crypto.subtle as SubtleCrypto & {
		timingSafeEqual?: (a: ArrayBuffer, b: ArrayBuffer) => boolean;
	};
	if (typeof subtle.timingSafeEqual === "function") return subtle.timingSafeEqual(a, b);
	const x = new Uint8Array(a);
	const y = new Uint8Array(b);
	let diff = 0;
	for (let i = 0; i < x.length; i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
	return diff === 0;
}

export const requireAdmin: MiddlewareHandler<{ Bindings: Env }> = async (c, next) => {
	const expected = c.env.ADMIN_TOKEN;
	if (!expected) {
		throw apiError(
			503,
			"admin-token-unset",
			"operator endpoints are disabled until an admin token is set: npx wrangler secret put ADMIN_TOKEN (locally: ADMIN_TOKEN=... in .dev.vars)",
		);
	}
	const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(c.req.header("authorization") ?? "");
	if (!m?.[1]) {
		throw apiError(
			401,
			"unauthorized",
			"missing admin token: send the header Authorization: Bearer <ADMIN_TOKEN>",
			{ headers: { "www-authenticate": CHALLENGE } },
		);
	}
	if (!(await tokensEqual(m[1], expected))) {
		throw apiError(401, "unauthorized", "the admin token is wrong", {
			headers: { "www-authenticate": `${CHALLENGE}, error="invalid_token"` },
		});
	}
	await next();
};
