// GET /api/v1/doctor (admin): the Worker-wide checks here, each pair's checks in its group's Durable Object.
import type { Hono } from "hono";
import { requireAdmin } from "./auth";
import { PairConfigSchema } from "./config";
import { loadConfig } from "./config-cache";
import type { DoctorCheck, DoctorReport, PairVerdict } from "./doctor-report";
import { apiError } from "./http-error";
import { buildMessage, describeConfigError, parseNotifyConfig, sendAll } from "./notify";
import type { PairEvent } from "./types";
import { watchdogFor } from "./watchdog";

/** Mounts the route; `?pair=NAME` checks one pair, `?notify=1` also sends a test message. */
export function mountDoctor(app: Hono<{ Bindings: Env }>): void {
	app.get("/api/v1/doctor", requireAdmin, async (c) => {
		const only = c.req.query("pair");
		if (only !== undefined && !PairConfigSchema.shape.name.safeParse(only).success) {
			throw apiError(400, "bad-request", "pair: expected a pair name", { field: "pair" });
		}
		const config = loadConfig(c.env.WATCHDOG_CONFIG, c.env.LOCAL_DEVELOPMENT);
		const checks: DoctorCheck[] = [];
		checks.push(
			config.globalErrors.length === 0
				? {
						name: "config",
						ok: true,
						detail: `${config.groups.size} group(s), ${[...config.groups.values()].flat().length} pair(s)`,
					}
				: {
						name: "config",
						ok: false,
						detail: config.globalErrors.map((e) => `${e.path}: ${e.message}`).join("; "),
						fix: "edit local/worker-config.json as the message says, then deploy again",
					},
		);
		checks.push(await notifyCheck(c.env, c.req.query("notify") === "1"));
		const groups = [...config.groups.entries()].filter(
			([, members]) => only === undefined || members.includes(only),
		);
		if (only !== undefined && groups.length === 0) {
			throw apiError(404, "unknown-pair", `no pair named "${only}"`, { field: "pair" });
		}
		const settled = await Promise.allSettled(
			groups.map(([g]) => watchdogFor(c.env, g).doctor(g, only)),
		);
		const pairs: PairVerdict[] = [];
		settled.forEach((r, i) => {
			const [group, members] = groups[i] as [string, readonly string[]];
			if (r.status === "fulfilled") pairs.push(...r.value);
			else
				for (const pair of members.filter((m) => only === undefined || m === only))
					pairs.push({
						pair,
						ok: false,
						checks: [
							{
								name: "durable object",
								ok: false,
								detail: `group ${group}'s Durable Object did not answer: ${String(r.reason).slice(0, 200)}`,
								fix: "npx wrangler tail   # then run doctor again",
							},
						],
					});
		});
		// Notifications never block a failover, so only config problems count against the verdict.
		const report: DoctorReport = {
			ok: checks[0]?.ok === true && pairs.length > 0 && pairs.every((p) => p.ok),
			checks,
			pairs,
		};
		return c.json(report, 200);
	});
}

async function notifyCheck(env: Env, send: boolean): Promise<DoctorCheck> {
	const config = parseNotifyConfig(env);
	if (config.errors.length > 0) {
		return {
			name: "notifications",
			ok: false,
			detail: config.errors.map(describeConfigError).join("; "),
			fix: "npx wrangler secret put <the variable named above>   # with a valid value",
		};
	}
	if (config.notifiers.length === 0) {
		return {
			name: "notifications",
			ok: true,
			detail: "none configured: nobody is told about a failover",
		};
	}
	const kinds = config.notifiers.map((n) => n.kind).join(", ");
	if (!send)
		return {
			name: "notifications",
			ok: true,
			detail: `${kinds} configured (add --notify to send a test message)`,
		};
	const now = Date.now();
	const event: PairEvent = {
		kind: "notification",
		severity: "info",
		at: now,
		from: "primary-active",
		to: "primary-active",
		term: 0,
		summary: "Test message from failover-gateway doctor: notifications work.",
		evidence: [],
		next: "",
		notify: true,
	};
	const results = await sendAll(buildMessage("doctor", event, {}), config.notifiers);
	const failed = results.filter((r) => !r.ok);
	return failed.length === 0
		? { name: "notifications", ok: true, detail: `test message delivered to ${kinds}` }
		: {
				name: "notifications",
				ok: false,
				detail: failed.map((f) => `${f.notifier}: ${f.error ?? "failed"}`).join("; "),
				fix: "npx wrangler secret put <that notifier's variable>   # see docs/configuration.md",
			};
}
