// A per-isolate memo of the group summaries anonymous readers see: a flood costs the Durable Object one call a window.
import type { PairSummary } from "./pair-view";

/**
 * How long anonymous readers share one read, ms. A pair's summary changes at most once a tick, so at
 * the default 5 s interval a reader sees it at most one tick late (at shorter intervals, up to this
 * long: several ticks; token holders always read fresh), and an isolate asks each group at most
 * 17,280 times a day however hard it is hammered (docs/cost.md).
 */
export const MEMO_MS = 5_000;

export interface GroupSummaries {
	pairs: PairSummary[];
	/** Groups whose Durable Object did not answer. */
	unreachable: string[];
}

/**
 * One entry (the summaries of every group, under one config): concurrent misses share one load, so a
 * burst arriving together still makes one call per group. `clock` is swappable for tests.
 */
export class ReadMemo {
	clock: () => number = () => Date.now();
	private entry: { key: string; at: number; value: Promise<GroupSummaries> } | undefined;

	constructor(readonly ttlMs: number) {}

	get(key: string, load: () => Promise<GroupSummaries>): Promise<GroupSummaries> {
		const now = this.clock();
		const e = this.entry;
		if (e && e.key === key && now - e.at < this.ttlMs && now >= e.at) return e.value;
		const value = load();
		this.entry = { key, at: now, value };
		// A failed load is not served to later readers.
		value.catch(() => {
			if (this.entry?.value === value) this.entry = undefined;
		});
		return value;
	}

	clear(): void {
		this.entry = undefined;
	}
}

export const summaryMemo = new ReadMemo(MEMO_MS);
