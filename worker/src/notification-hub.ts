// Delivers decide()'s notifiable events: dedupes them, sends in the background, and records how each delivery went.
import {
	buildMessage,
	type DeliveryResult,
	dedupe,
	dedupeKey,
	describeConfigError,
	fromDedupeRecord,
	type NotifyConfig,
	sendAll,
	toDedupeRecord,
} from "./notify";
import type { PairEvent } from "./types";

/** The slice of the store the hub needs (meta rows and the event log). */
export interface HubStore {
	getMeta(key: string): string | undefined;
	setMeta(key: string, value: string): void;
	appendEvents(pair: string, events: readonly PairEvent[]): void;
}

export interface HubDeps {
	config: NotifyConfig;
	store: HubStore;
	fetch: typeof fetch;
	clock: () => number;
	/** Keeps the object alive for a delivery without making the caller wait for it. */
	waitUntil: (p: Promise<unknown>) => void;
	dashboardUrl?: string;
	/** Waits between delivery attempts; tests pass an instant one. */
	sleep?: (ms: number) => Promise<void>;
}

export interface LastDelivery {
	at: number;
	ok: boolean;
	attempts: number;
	kind: PairEvent["kind"];
	error?: string;
}

export interface NotificationStatus {
	/** Which notifiers are configured (no URLs or tokens). */
	notifiers: string[];
	/** Notifier variables that were set wrong: those notifiers are off, the others send. */
	configErrors: string[];
	/** Per notifier, its last delivery for any pair of this group. */
	last: Record<string, LastDelivery>;
	/** Events sent, and repeats suppressed by dedupe, since this object started. */
	sent: number;
	suppressed: number;
}

const DEDUPE_KEY = "notify_dedupe";
const LAST_KEY = "notify_last";

export class NotificationHub {
	private sent = 0;
	private suppressed = 0;

	constructor(private readonly deps: HubDeps) {}

	/** Never blocks and never throws: deliveries run in the background (agent calls never wait for them). */
	dispatch(pair: string, events: readonly PairEvent[]): void {
		const notifiable = events.filter((e) => e.notify);
		if (notifiable.length === 0 || this.deps.config.notifiers.length === 0) return;
		const now = this.deps.clock();
		let recent = fromDedupeRecord(safeJson(this.deps.store.getMeta(DEDUPE_KEY)));
		const fresh: PairEvent[] = [];
		for (const ev of notifiable) {
			const key = dedupeKey(pair, ev);
			// A critical alert is swallowed only as a straight repeat. Back after another event of the pair
			// (both-down, then recovered, then both-down again) it is news: suppressing it would leave the
			// last word "recovered" while nothing can take over. Warnings keep the window, so a flapping
			// condition does not flood.
			if (ev.severity === "critical" && sentSince(recent, pair, key)) recent.delete(key);
			const r = dedupe(key, now, recent);
			recent = r.recent;
			if (r.send) fresh.push(ev);
			else this.suppressed += 1;
		}
		this.deps.store.setMeta(DEDUPE_KEY, JSON.stringify(toDedupeRecord(recent)));
		for (const ev of fresh) {
			this.sent += 1;
			const message = buildMessage(pair, ev, { dashboardUrl: this.deps.dashboardUrl });
			const delivery = sendAll(message, this.deps.config.notifiers, {
				fetch: this.deps.fetch,
				now: this.deps.clock,
				...(this.deps.sleep ? { sleep: this.deps.sleep } : {}),
			})
				.then((results) => this.record(pair, ev, results))
				.catch((e) => console.error("notification delivery threw (a bug)", e));
			this.deps.waitUntil(delivery);
		}
	}

	status(): NotificationStatus {
		return {
			notifiers: this.deps.config.notifiers.map((n) => n.kind),
			configErrors: this.deps.config.errors.map(describeConfigError),
			last: (safeJson(this.deps.store.getMeta(LAST_KEY)) ?? {}) as Record<string, LastDelivery>,
			sent: this.sent,
			suppressed: this.suppressed,
		};
	}

	/** One log entry per event delivered, naming what failed, so the status page shows it. */
	private record(pair: string, ev: PairEvent, results: readonly DeliveryResult[]): void {
		const at = this.deps.clock();
		const last = (safeJson(this.deps.store.getMeta(LAST_KEY)) ?? {}) as Record<
			string,
			LastDelivery
		>;
		for (const r of results) {
			last[r.notifier] = {
				at,
				ok: r.ok,
				attempts: r.attempts,
				kind: ev.kind,
				...(r.error ? { error: r.error } : {}),
			};
		}
		this.deps.store.setMeta(LAST_KEY, JSON.stringify(last));
		const failed = results.filter((r) => !r.ok);
		const sentTo = results.filter((r) => r.ok).map((r) => r.notifier);
		const parts: string[] = [];
		if (sentTo.length > 0) parts.push(`sent to ${sentTo.join(", ")}`);
		for (const f of failed) {
			parts.push(`${f.notifier} failed after ${f.attempts} attempt(s): ${f.error ?? "unknown"}`);
		}
		this.deps.store.appendEvents(pair, [
			{
				kind: "notification",
				severity: failed.length > 0 ? "warning" : "info",
				at,
				from: ev.to,
				to: ev.to,
				term: ev.term,
				summary: `notification "${ev.kind}": ${parts.join("; ")}`,
				evidence: [],
				next:
					failed.length > 0
						? "Check the notifier's URL or token (wrangler secret put ...) and that the endpoint is up."
						: "",
				notify: false,
			},
		]);
	}
}

/** Whether another event of `pair` was sent after `key` last was. Pair names cannot contain "|". */
function sentSince(recent: ReadonlyMap<string, number>, pair: string, key: string): boolean {
	const at = recent.get(key);
	if (at === undefined) return false;
	for (const [k, t] of recent) if (k !== key && k.startsWith(`${pair}|`) && t > at) return true;
	return false;
}

function safeJson(text: string | undefined): unknown {
	if (text === undefined) return undefined;
	try {
		return JSON.parse(text);
	} catch {
		return undefined;
	}
}
