// The Worker's reads of its watch groups: one readGroup call per group; anonymous readers share a per-isolate memo.
import type { LoadedConfig } from "./config-cache";
import type { GroupReadOptions, PairDetailRead } from "./group-view";
import type { PairSummary } from "./pair-view";
import { type GroupSummaries, summaryMemo } from "./read-memo";
import { watchdogFor } from "./watchdog";

export interface GroupsRead {
	pairs: PairSummary[];
	/** By pair name, with `detail` only. */
	details: Map<string, PairDetailRead>;
	/** Groups whose Durable Object did not answer (their pairs are missing from `pairs`). */
	unreachable: string[];
}

/** Asks every group once, concurrently; a group that fails is listed in `unreachable`, never thrown. */
export async function readGroups(
	env: Env,
	config: LoadedConfig,
	opts: GroupReadOptions,
): Promise<GroupsRead> {
	const groups = [...config.groups.keys()];
	const settled = await Promise.allSettled(
		groups.map((g) => watchdogFor(env, g).readGroup(g, opts)),
	);
	const out: GroupsRead = { pairs: [], details: new Map(), unreachable: [] };
	settled.forEach((r, i) => {
		const group = groups[i] as string;
		if (r.status === "rejected") {
			console.error(`group ${group} did not answer`, r.reason);
			out.unreachable.push(group);
			return;
		}
		out.pairs.push(...r.value.pairs);
		for (const [name, d] of Object.entries(r.value.details ?? {})) out.details.set(name, d);
		if (r.value.truncated) {
			console.warn(
				`group ${group}: history cut to the per-request row cap; the next read fills it in`,
			);
		}
	});
	return out;
}

/**
 * The summaries for tokenless readers, from this isolate's memo (read-memo.ts): at most one call per
 * group per MEMO_MS whatever the request rate. Raw: build public views with public-view.ts.
 */
export function anonymousSummaries(env: Env, config: LoadedConfig): Promise<GroupSummaries> {
	return summaryMemo.get(config.hash, async () => {
		const { pairs, unreachable } = await readGroups(env, config, { detail: false });
		return { pairs, unreachable };
	});
}
