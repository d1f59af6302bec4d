// The /healthz verdict: is every configured pair being watched? Config errors and stopped loops say no.

import { adminTokenWeakness } from "./admin-token";
import { statusPageMode } from "./auth";
import { limiterProblems } from "./client-limits";
import type { ConfigError } from "./config";
import type { LoadedConfig } from "./config-cache";
import { heartbeatTarget } from "./heartbeat";
import type { PairSummary } from "./pair-view";

// A pair's loop is reported stale past this many of its intervals (the backstop re-arms at two).
export const STALE_INTERVALS = 3;

export interface HealthReport {
	ok: boolean;
	/** One sentence per problem, each naming what is wrong. */
	problems: string[];
	/** Degraded but watching (e.g. a rate limit on its per-isolate fallback): never turns `ok` false. */
	warnings: string[];
	errors: (ConfigError & { pair?: string })[];
	pairs: {
		name: string;
		group: string;
		watched: boolean;
		state: string | null;
		lastTickAt: number | null;
		stale: boolean;
	}[];
}

/** Every config error, with the pair it belongs to when there is one. */
export function configErrors(config: LoadedConfig): (ConfigError & { pair?: string })[] {
	const out: (ConfigError & { pair?: string })[] = [...config.globalErrors];
	for (const [pair, errors] of config.pairErrors) for (const e of errors) out.push({ ...e, pair });
	return out;
}

export function healthReport(
	config: LoadedConfig,
	pairs: readonly PairSummary[],
	unreachableGroups: readonly string[],
	now: number,
): HealthReport {
	const errors = configErrors(config);
	const problems = errors.map(
		(e) => `config ${e.path}${e.pair ? ` (pair ${e.pair}, not watched)` : ""}: ${e.message}`,
	);
	for (const g of unreachableGroups) problems.push(`group ${g}: its Durable Object did not answer`);
	const view = pairs.map((p) => {
		const interval = (config.pairs.get(p.name)?.probeIntervalSeconds ?? 0) * 1000;
		const stale =
			p.watched && (p.lastTickAt === null || now - p.lastTickAt > STALE_INTERVALS * interval);
		// What the judge raised (silent or broken witnesses, refused probes, ...): the pair is watched,
		// but it could not fail over correctly until these are fixed.
		for (const text of p.problems ?? []) problems.push(`pair ${p.name}: ${text}`);
		if (stale) {
			problems.push(
				p.lastTickAt === null
					? `pair ${p.name}: not ticked yet (the cron backstop starts its loop within a minute)`
					: `pair ${p.name}: last tick ${Math.round((now - p.lastTickAt) / 1000)} s ago`,
			);
		}
		return {
			name: p.name,
			group: p.group,
			watched: p.watched,
			state: p.state,
			lastTickAt: p.lastTickAt,
			stale,
		};
	});
	return { ok: problems.length === 0, problems, warnings: [], errors, pairs: view };
}

/**
 * Problems of the Worker itself, from its settings alone: a bad STATUS_PAGE, a weak ADMIN_TOKEN (admin
 * routes are off until it is replaced), an unusable HEARTBEAT_URL. Warnings: rate limits running on the per-isolate fallback.
 */
export function workerProblems(env: Env): { problems: string[]; warnings: string[] } {
	const problems: string[] = [];
	const { problem } = statusPageMode(env);
	if (problem) problems.push(problem);
	const weak = adminTokenWeakness(env.ADMIN_TOKEN?.trim());
	if (weak) problems.push(weak);
	// A dead-man's switch that can never ping would leave the outside monitor alerting (or silent).
	const heartbeat = heartbeatTarget(env.HEARTBEAT_URL);
	if (heartbeat.kind === "invalid") problems.push(heartbeat.problem);
	return { problems, warnings: limiterProblems(env) };
}

/** The report with the Worker's own problems and warnings added; `ok` turns false on a problem. */
export function withWorkerProblems(report: HealthReport, env: Env): HealthReport {
	const own = workerProblems(env);
	return {
		...report,
		ok: report.ok && own.problems.length === 0,
		problems: [...report.problems, ...own.problems],
		warnings: [...report.warnings, ...own.warnings],
	};
}

/**
 * The verdict a tokenless reader of a private status page gets, from the configuration and the
 * Worker's settings alone: it never asks a Durable Object (an anonymous flood must cost the watch loop
 * nothing), so it cannot say whether the loops tick; that needs the token.
 */
export function configOnlyVerdict(config: LoadedConfig, env: Env): boolean {
	return configErrors(config).length === 0 && workerProblems(env).problems.length === 0;
}
