// What one read of a watch group returns: the shapes of the Watchdog's readGroup RPC and the row cap it honours.

import { PAGE_EVENTS, TIMELINE_WINDOW_MS } from "./page/model";
import type { PairDetail, PairSummary } from "./pair-view";
import { OBSERVATION_RING, type StoredEvent } from "./store";

/**
 * Most rows one readGroup call may read from SQLite. A cold object serving an admin page for three
 * pairs at 5 s needs 3 x (721 observations + 40 events + 1) = 2,286; later refreshes read only what is
 * new (a few rows). Past the cap the oldest history is left out and `truncated` says so; the next
 * refresh fills it in, since rows read once are held in the object's memory.
 */
export const MAX_ROWS_PER_READ = 2_500;

export interface GroupReadOptions {
	/** Also each pair's detail (witnesses, the timeline's observations, events): admin views only. */
	detail: boolean;
}

export interface PairDetailRead {
	/** null when the pair is not (or no longer) configured in this group. */
	pair: PairDetail | null;
	events: StoredEvent[];
	/** Newest observation and event seq: what a client holds to ask for rows after them. */
	cursors: { observations: number; events: number };
}

export interface GroupView {
	pairs: PairSummary[];
	/** By pair name; present only when asked for detail. */
	details?: Record<string, PairDetailRead>;
	/** Rows this call read from SQLite (the billed figure), and whether the cap cut history short. */
	rowsRead: number;
	truncated: boolean;
}

/** Enough observations to cover the timeline at the pair's interval, never more than the ring holds. */
export function observationsForTimeline(probeIntervalSeconds: number | undefined): number {
	const interval = Math.max(1, probeIntervalSeconds ?? 5) * 1000;
	return Math.min(OBSERVATION_RING, Math.ceil(TIMELINE_WINDOW_MS / interval) + 1);
}

/** Newest events a page shows per pair. */
export const DETAIL_EVENTS = PAGE_EVENTS;
