// Turns one read of the groups into what the page shows of each pair: detail only for token holders.
import type { GroupsRead } from "../group-read";
import type { PairSummary } from "../pair-view";
import type { PairDetailView, PairPageView } from "./model";

/** Summaries only (anonymous readers), or summaries with each pair's detail from the same read. */
export function pairPages(
	pairs: readonly PairSummary[],
	read: GroupsRead | undefined,
): PairPageView[] {
	if (!read) return pairs.map((summary) => ({ summary }));
	return pairs.map((summary) => ({ summary, detail: detailView(read, summary) }));
}

function detailView(read: GroupsRead, s: PairSummary): PairDetailView {
	const d = read.details.get(s.name);
	if (!d?.pair) return { ok: false, error: "the pair is no longer configured" };
	return { ok: true, pair: d.pair, events: d.events };
}
