// The HTTP API (Hono): the status page, health, pair summary (public unless STATUS_PAGE=private), pair detail and
// event log and the operator commands (admin token).
//
// Reads without the token (anonymous) pass the per-address rate limit, come from the per-isolate memo
// and leave through publicView (no URLs, hosts or paths); token holders read their groups directly.
import { type Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { anonymousGate } from "./anonymous-gate";
import { authenticate, requireAdmin, requireReader, statusPageMode } from "./auth";
import { groupOf, PairConfigSchema } from "./config";
import { type LoadedConfig, loadConfig } from "./config-cache";
import { DIAL_OUT_PATH, dialOutUpgrade } from "./dial-out-route";
import { mountDoctor } from "./doctor";
import { anonymousSummaries, readGroups } from "./group-read";
import {
	configErrors,
	configOnlyVerdict,
	healthReport,
	withWorkerProblems,
	workerProblems,
} from "./health";
import { apiError, apiErrorResponse } from "./http-error";
import { pairPages } from "./page/data";
import { pageResponse } from "./page/response";
import { publicView } from "./public-view";
import { OBSERVATION_RING } from "./store";
import type { OperatorCommand } from "./types";
import { watchdogFor } from "./watchdog";

type Env_ = { Bindings: Env };

const OPERATOR_COMMANDS = [
	"pause",
	"resume",
	"promote",
	"demote",
	"failback",
	"drill",
	// Sets the term to the agents' highest reported one (a term anomaly; docs/runbook.md).
	"reset-term",
] as const satisfies readonly OperatorCommand[];

// Operator commands carry no body; 1 KiB leaves room for a client that sends `{}` or a note.
const MAX_POST_BODY = 1024;

export const app = new Hono<Env_>();

app.get(DIAL_OUT_PATH, (c) => dialOutUpgrade(c));

app.get("/", anonymousGate, async (c) => {
	const { mode } = statusPageMode(c.env);
	const auth = await authenticate(c);
	const admin = auth === "valid";
	const canRead = mode === "public" || admin;
	const part = c.req.query("part") === "content" ? "content" : "page";
	const config = loadConfig(c.env.WATCHDOG_CONFIG, c.env.LOCAL_DEVELOPMENT);
	const now = Date.now();
	if (!canRead) return pageResponse({ now, mode, auth, canRead, pairs: [], problems: [] }, part);
	// One call per group: summaries, and for the token holder every pair's detail in the same answer.
	const read = admin ? await readGroups(c.env, config, { detail: true }) : undefined;
	const { pairs, unreachable } = read ?? (await anonymousSummaries(c.env, config));
	// Pair-level config errors show on the pair's card; these concern the whole Worker.
	const own = workerProblems(c.env);
	const problems = [
		...own.problems,
		...(admin ? own.warnings : []),
		...config.globalErrors.map((e) => `config ${e.path}: ${e.message}`),
		...unreachable.map((g) => `group ${g}: its Durable Object did not answer`),
	];
	const pages = pairPages(pairs, read);
	return pageResponse(
		{
			now,
			mode,
			auth,
			canRead,
			pairs: admin ? pages : publicView(pages),
			problems: admin ? problems : publicView(problems),
		},
		part,
	);
});

app.get("/healthz", anonymousGate, async (c) => {
	const config = loadConfig(c.env.WATCHDOG_CONFIG, c.env.LOCAL_DEVELOPMENT);
	const admin = (await authenticate(c)) === "valid";
	if (statusPageMode(c.env).mode === "private" && !admin) {
		// The verdict stays public for uptime monitors, but without the token it comes from the config
		// alone: a tokenless flood must not reach the Durable Object at all.
		const ok = configOnlyVerdict(config, c.env);
		return c.json(
			{
				ok,
				private: true,
				message:
					"STATUS_PAGE is private: without the token this verdict covers the configuration only; send Authorization: Bearer <ADMIN_TOKEN> for problems, pairs and whether each loop ticks",
			},
			ok ? 200 : 503,
		);
	}
	const { pairs, unreachable } = admin
		? await readGroups(c.env, config, { detail: false })
		: await anonymousSummaries(c.env, config);
	const report = withWorkerProblems(healthReport(config, pairs, unreachable, Date.now()), c.env);
	// 503 whenever a configured pair is not being watched, so an uptime monitor pages someone.
	// Warnings (a rate limit not bound) are for the operator, not for whoever is probing the limits.
	return c.json(admin ? report : publicView({ ...report, warnings: [] }), report.ok ? 200 : 503);
});

app.get("/api/v1/pairs", anonymousGate, requireReader, async (c) => {
	const config = loadConfig(c.env.WATCHDOG_CONFIG, c.env.LOCAL_DEVELOPMENT);
	const admin = (await authenticate(c)) === "valid";
	const { pairs, unreachable } = admin
		? await readGroups(c.env, config, { detail: false })
		: await anonymousSummaries(c.env, config);
	const body = { pairs, configErrors: configErrors(config), unreachableGroups: unreachable };
	return c.json(admin ? body : publicView(body));
});

app.get("/api/v1/pairs/:pair", requireAdmin, async (c) => {
	const { name, group } = resolvePair(c);
	// Up to the whole ring: an hour of history at the default 5 s interval is 720 rows.
	const observations = intQuery(c, "observations", {
		min: 1,
		max: OBSERVATION_RING,
		fallback: 20,
	});
	const detail = await watchdogFor(c.env, group).getPair(name, observations);
	if (!detail) throw unknownPair(name, loadConfig(c.env.WATCHDOG_CONFIG, c.env.LOCAL_DEVELOPMENT));
	return c.json(detail);
});

app.get("/api/v1/pairs/:pair/events", requireAdmin, async (c) => {
	const { name, group } = resolvePair(c);
	const limit = intQuery(c, "limit", { min: 1, max: 1000, fallback: 50 });
	const events = await watchdogFor(c.env, group).getEvents(name, limit);
	if (!events) throw unknownPair(name, loadConfig(c.env.WATCHDOG_CONFIG, c.env.LOCAL_DEVELOPMENT));
	return c.json({ pair: name, events });
});

const postLimit = bodyLimit({
	maxSize: MAX_POST_BODY,
	onError: () => {
		throw apiError(413, "body-too-large", `request body over ${MAX_POST_BODY} bytes`);
	},
});

for (const command of OPERATOR_COMMANDS) {
	app.post(`/api/v1/pairs/:pair/${command}`, postLimit, requireAdmin, async (c) => {
		const { name, group } = resolvePair(c);
		const r = await watchdogFor(c.env, group).operator(name, command);
		if (!r.ok) {
			throw apiError(r.code === "unknown-pair" ? 404 : 409, r.code, r.message, { field: "pair" });
		}
		if (r.refused !== undefined) throw apiError(409, "refused", r.refused);
		return c.json({
			pair: name,
			command,
			state: r.state,
			events: r.events,
			commands: r.commands,
		});
	});
}

mountDoctor(app);

app.notFound(() =>
	apiErrorResponse(404, "not-found", "no such route; see /, /healthz and /api/v1/pairs"),
);

app.onError((err) => {
	if (err instanceof HTTPException) {
		const res = err.getResponse();
		if (res.headers.get("content-type")?.includes("application/json")) return res;
		// Hono's own HTTPExceptions (e.g. malformed input) answered in the same JSON shape.
		return apiErrorResponse(err.status, "bad-request", err.message || res.statusText);
	}
	console.error("unhandled error in API", err);
	return apiErrorResponse(500, "internal", "internal error; see the Worker's logs");
});

/** Validates the :pair parameter and finds its group: 400 for a malformed name, 404 for an unknown one. */
function resolvePair(c: Context<Env_>): { name: string; group: string } {
	const name = c.req.param("pair") ?? "";
	const parsed = PairConfigSchema.shape.name.safeParse(name);
	if (!parsed.success) {
		throw apiError(
			400,
			"bad-request",
			`pair: ${parsed.error.issues[0]?.message ?? "invalid pair name"}`,
			{ field: "pair" },
		);
	}
	const config = loadConfig(c.env.WATCHDOG_CONFIG, c.env.LOCAL_DEVELOPMENT);
	const group = groupOf(config, name);
	if (group === undefined) throw unknownPair(name, config);
	return { name, group };
}

function unknownPair(name: string, config: LoadedConfig): HTTPException {
	const known = [...config.groups.values()].flat();
	const list = known.length > 0 ? `; configured pairs: ${known.join(", ")}` : "";
	return apiError(404, "unknown-pair", `no pair named "${name}"${list}`, { field: "pair" });
}

function intQuery(
	c: Context<Env_>,
	field: string,
	range: { min: number; max: number; fallback: number },
): number {
	const raw = c.req.query(field);
	if (raw === undefined || raw === "") return range.fallback;
	const n = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
	if (!Number.isInteger(n) || n < range.min || n > range.max) {
		throw apiError(
			400,
			"bad-request",
			`${field}: expected an integer from ${range.min} to ${range.max}, got ${JSON.stringify(raw.slice(0, 40))}`,
			{ field },
		);
	}
	return n;
}
