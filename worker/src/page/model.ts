// What the page is rendered from: gathered by the route, rendered by render.ts, never fetched by the renderer.
import type { StatusPageMode, TokenCheck } from "../auth";
import type { PairDetail, PairSummary } from "../pair-view";
import type { StoredEvent } from "../store";

export type PairDetailView =
	| { ok: true; pair: PairDetail; events: StoredEvent[] }
	| { ok: false; error: string };

export interface PairPageView {
	summary: PairSummary;
	/** Present only when the request carried the valid admin token. */
	detail?: PairDetailView;
}

export interface PageView {
	now: number;
	mode: StatusPageMode;
	/** What the request's Authorization header amounted to (the script reacts to "wrong"). */
	auth: TokenCheck;
	/** False when STATUS_PAGE is private and the token is not valid: no pair data at all. */
	canRead: boolean;
	pairs: PairPageView[];
	/** One sentence each: config errors, groups that did not answer, a bad STATUS_PAGE. */
	problems: string[];
}

/** The probe timeline's reach. */
export const TIMELINE_WINDOW_MS = 60 * 60 * 1000;
/** Newest events shown per pair; the full log stays at /api/v1/pairs/:pair/events. */
export const PAGE_EVENTS = 40;
/** Page refresh without JavaScript (meta refresh), s; the script refreshes more often while visible. */
export const NOSCRIPT_REFRESH_S = 30;
