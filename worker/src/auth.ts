// Who may read and who may command: the admin bearer token (strong, compared in constant time, guesses
// limited per address) and the STATUS_PAGE switch.
import type { Context, MiddlewareHandler } from "hono";
import { adminTokenWeakness } from "./admin-token";
import { clientAddress, LIMITS, withinLimit } from "./client-limits";
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

/**
 * What the request's Authorization header amounts to. "unset": the Worker has no ADMIN_TOKEN at all;
 * "weak": it has one too short or predictable to guard anything (admin-token.ts), so nothing is accepted.
 */
export type TokenCheck = "valid" | "missing" | "wrong" | "unset" | "weak";

/** Pure check of one header against ADMIN_TOKEN; routes use `authenticate`, which also limits guesses. */
export async function checkAdminToken(
	env: { ADMIN_TOKEN?: string },
	authorization: string | undefined,
): Promise<TokenCheck> {
	// A secret piped in from a shell may end in a newline; a header cannot carry one anyway.
	const expected = env.ADMIN_TOKEN?.trim();
	if (!expected) return "unset";
	if (adminTokenWeakness(expected) !== undefined) return "weak";
	const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization ?? "");
	if (!m?.[1]) return "missing";
	return (await tokensEqual(m[1], expected)) ? "valid" : "wrong";
}

/**
 * Addresses past their failed-attempt limit, until when (ms since epoch). Per isolate: the binding's
 * counter cannot be read without counting, so the block it decides is remembered here. An address
 * that reaches another isolate gets one more comparison there before that isolate blocks it too.
 */
const blockedUntil = new Map<string, number>();
// Bounds memory under a flood of distinct addresses; past it, the oldest block is dropped.
const MAX_BLOCKED = 10_000;

/**
 * The admin check every route uses: an address past its limit of failed attempts gets 429 for any
 * token, right or wrong, until its window ends, so guessing gains nothing by going faster. Only
 * requests that carry an Authorization header count; anonymous reads are limited elsewhere.
 */
export function authenticate(c: Context<{ Bindings: Env }>): Promise<TokenCheck> {
	// Once per request: a gate and a route both asking must not count one wrong token twice.
	let check = checked.get(c.req.raw);
	if (!check) {
		check = authenticateOnce(c);
		checked.set(c.req.raw, check);
	}
	return check;
}

const checked = new WeakMap<Request, Promise<TokenCheck>>();

async function authenticateOnce(c: Context<{ Bindings: Env }>): Promise<TokenCheck> {
	const header = c.req.header("authorization");
	if (header === undefined) return checkAdminToken(c.env, header);
	const ip = clientAddress(c.req.raw.headers);
	const now = Date.now();
	if (ip !== undefined) {
		const until = blockedUntil.get(ip);
		if (until !== undefined && until > now) throw tooManyAttempts(until - now);
		if (until !== undefined) blockedUntil.delete(ip);
	}
	const check = await checkAdminToken(c.env, header);
	if (check === "wrong" && ip !== undefined && !(await withinLimit(c.env, "adminFailures", ip))) {
		const until = now + LIMITS.adminFailures.periodMs;
		if (blockedUntil.size >= MAX_BLOCKED) {
			const oldest = blockedUntil.keys().next().value;
			if (oldest !== undefined) blockedUntil.delete(oldest);
		}
		blockedUntil.set(ip, until);
		throw tooManyAttempts(until - now);
	}
	return check;
}

function tooManyAttempts(waitMs: number) {
	const s = Math.max(1, Math.ceil(waitMs / 1000));
	return apiError(
		429,
		"too-many-attempts",
		`too many wrong admin tokens from your address (${LIMITS.adminFailures.limit} a minute); every admin request from it is refused for ${s} s`,
		{ headers: { "retry-after": String(s) } },
	);
}

export const requireAdmin: MiddlewareHandler<{ Bindings: Env }> = async (c, next) => {
	const check = await authenticate(c);
	if (check !== "valid") throw tokenError(check, c.env);
	await next();
};

function tokenError(check: Exclude<TokenCheck, "valid">, env: { ADMIN_TOKEN?: string }) {
	switch (check) {
		case "weak":
			return apiError(
				503,
				"admin-token-weak",
				adminTokenWeakness(env.ADMIN_TOKEN?.trim()) ?? "ADMIN_TOKEN is too weak",
			);
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

/** The summary endpoints: open when STATUS_PAGE is public, behind the admin token when private. */
export const requireReader: MiddlewareHandler<{ Bindings: Env }> = async (c, next) => {
	if (statusPageMode(c.env).mode === "public") return next();
	return requireAdmin(c, next);
};
