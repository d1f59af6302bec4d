// Who may read and who may command: the admin bearer token (compared in constant time) and the STATUS_PAGE switch.
import type { Context, MiddlewareHandler } from "hono";
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

/** What the request's Authorization header amounts to. "unset": the Worker has no ADMIN_TOKEN at all. */
export type TokenCheck = "valid" | "missing" | "wrong" | "unset";

export async function checkAdminToken(
	env: { ADMIN_TOKEN?: string },
	authorization: string | undefined,
): Promise<TokenCheck> {
	const expected = env.ADMIN_TOKEN;
	if (!expected) return "unset";
	const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization ?? "");
	if (!m?.[1]) return "missing";
	return (await tokensEqual(m[1], expected)) ? "valid" : "wrong";
}

export const requireAdmin: MiddlewareHandler<{ Bindings: Env }> = async (c, next) => {
	const check = await checkAdminToken(c.env, c.req.header("authorization"));
	if (check !== "valid") throw tokenError(check);
	await next();
};

function tokenError(check: Exclude<TokenCheck, "valid">) {
	switch (check) {
		case "unset":
			return apiError(
				503,
				"admin-token-unset",
				"this endpoint is disabled until an admin token is set: npx wrangler secret put ADMIN_TOKEN (locally: ADMIN_TOKEN=... in .dev.vars)",
			);
		case "missing":
			return apiError(
				401,
				"unauthorized",
				"missing admin token: send the header Authorization: Bearer <ADMIN_TOKEN>",
				{ headers: { "www-authenticate": CHALLENGE } },
			);
		case "wrong":
			return apiError(401, "unauthorized", "the admin token is wrong", {
				headers: { "www-authenticate": `${CHALLENGE}, error="invalid_token"` },
			});
	}
}

export type StatusPageMode = "public" | "private";

/**
 * STATUS_PAGE: "public" (default) shows the summary to anyone; "private" needs the admin token for it too.
 * Any other value fails closed (private) and `problem` says what was wrong, for /healthz and the page.
 */
export function statusPageMode(env: { STATUS_PAGE?: string }): {
	mode: StatusPageMode;
	problem?: string;
} {
	const raw = env.STATUS_PAGE;
	if (raw === undefined || raw === "" || raw === "public") return { mode: "public" };
	if (raw === "private") return { mode: "private" };
	return {
		mode: "private",
		problem: `STATUS_PAGE: expected "public" or "private", got ${JSON.stringify(raw.slice(0, 40))}; treated as "private"`,
	};
}

/** May this request read the summary? Always when public; with the admin token when private. */
export async function canReadSummary(c: Context<{ Bindings: Env }>): Promise<boolean> {
	if (statusPageMode(c.env).mode === "public") return true;
	return (await checkAdminToken(c.env, c.req.header("authorization"))) === "valid";
}

/** The summary endpoints: open when STATUS_PAGE is public, behind the admin token when private. */
export const requireReader: MiddlewareHandler<{ Bindings: Env }> = async (c, next) => {
	if (statusPageMode(c.env).mode === "public") return next();
	return requireAdmin(c, next);
};
