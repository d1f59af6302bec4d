// GET /agent/v1/connect: routes an agent's WebSocket upgrade to its watch group's Durable Object.
import type { Context } from "hono";
import { DIAL_OUT_PATH } from "../../protocol";
import { clientAddress, isLoopback, LIMITS, withinLimit } from "./client-limits";
import { agentTransport, groupOf } from "./config";
import { loadConfig } from "./config-cache";
import { apiErrorResponse as apiError } from "./http-error";
import { watchdogFor } from "./watchdog";

export { DIAL_OUT_PATH };

/**
 * Counts the caller's address against the dial-out limit first (DIAL_LIMITER: 429 with Retry-After past
 * it), then checks what can be checked without the object (an upgrade, a configured pair and a dial-out
 * side), so a stray request or a flood costs no Durable Object request, then hands the upgrade to the
 * group's object, which authenticates the agent over the socket (challenge and signed hello).
 */
export async function dialOutUpgrade(c: Context<{ Bindings: Env }>): Promise<Response> {
	const ip = clientAddress(c.req.raw.headers);
	// Loopback is local development only (a lab runs every agent from 127.0.0.1): not limited.
	if (ip !== undefined && !isLoopback(ip) && !(await withinLimit(c.env, "dialOut", ip))) {
		const { limit, periodMs } = LIMITS.dialOut;
		const wait = Math.ceil(periodMs / 1000);
		return apiError(
			429,
			"rate-limited",
			`too many dial-out connections from your address (${limit} a minute); failover-agent retries by itself with backoff, wait ${wait} s. Several agents behind one address each count.`,
			{ headers: { "retry-after": String(wait) } },
		);
	}
	if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
		return apiError(
			426,
			"upgrade-required",
			`${DIAL_OUT_PATH} takes a WebSocket upgrade from failover-agent (dial-out mode)`,
		);
	}
	const pair = c.req.query("pair") ?? "";
	const side = c.req.query("side") ?? "";
	if (side !== "primary" && side !== "standby") {
		return apiError(400, "bad-request", "expected ?side=primary or ?side=standby");
	}
	const config = loadConfig(c.env.WATCHDOG_CONFIG, c.env.LOCAL_DEVELOPMENT);
	const group = groupOf(config, pair);
	const pc = config.pairs.get(pair);
	if (group === undefined || !pc) {
		return apiError(
			404,
			"unknown-pair",
			`no valid pair named "${pair}" on this Worker (see /healthz)`,
		);
	}
	if (agentTransport(pc, side).kind !== "dial-out") {
		return apiError(
			403,
			"not-dial-out",
			`pair "${pair}" has no agentPublicKey for its ${side} without an agentUrl: this side is not configured to dial out`,
		);
	}
	return watchdogFor(c.env, group).fetch(c.req.raw);
}
