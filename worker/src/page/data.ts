// Gathers what the page shows of each pair from its group's Durable Object: detail only for token holders.
import type { LoadedConfig } from "../config-cache";
import type { PairSummary } from "../pair-view";
import { OBSERVATION_RING } from "../store";
import { watchdogFor } from "../watchdog";
import { PAGE_EVENTS, type PairDetailView, type PairPageView, TIMELINE_WINDOW_MS } from "./model";

/** Enough observations to cover the timeline at the pair's interval, never more than the ring holds. */
export function observationsForTimeline(probeIntervalSeconds: number | undefined): number {
	const interval = Math.max(1, probeIntervalSeconds ?? 5) * 1000;
	return Math.min(OBSERVATION_RING, Math.ceil(TIMELINE_WINDOW_MS / interval) + 1);
}

export async function pairPages(
	env: Env,
	config: LoadedConfig,
	pairs: readonly PairSummary[],
	withDetail: boolean,
): Promise<PairPageView[]> {
	if (!withDetail) return pairs.map((summary) => ({ summary }));
	return Promise.all(
		pairs.map(async (summary) => ({ summary, detail: await pairDetail(env, config, summary) })),
	);
}

async function pairDetail(env: Env, config: LoadedConfig, s: PairSummary): Promise<PairDetailView> {
	const stub = watchdogFor(env, s.group);
	const n = observationsForTimeline(config.pairs.get(s.name)?.probeIntervalSeconds);
	try {
		const [pair, events] = await Promise.all([
			stub.getPair(s.name, n),
			stub.getEvents(s.name, PAGE_EVENTS),
		]);
		if (!pair || !events) return { ok: false, error: "the pair is no longer configured" };
		return { ok: true, pair, events };
	} catch (e) {
		console.error(`page: detail of ${s.name} failed`, e);
		return { ok: false, error: `group ${s.group} did not answer; see the Worker's logs` };
	}
}
