// Delivers decide()'s notifiable events: dedupes them, sends in the background, keeps failed ones in the outbox for later alarms, and records how each delivery went.
import {
	buildMessage,
	type DeliveryResult,
	dedupeKey,
	describeConfigError,
	dueEntries,
	evictionVictim,
	expired,
	fromDedupeRecord,
	type NotifyConfig,
	nextAttemptAt,
	OUTBOX_MAX_AGE_MS,
	OUTBOX_MAX_ENTRIES,
	type OutboxEntry,
	type OutboxStore,
	recordDelivery,
	sendAll,
	shouldSend,
	toDedupeRecord,
} from "./notify";
import type { PairEvent } from "./types";

/** The slice of the store the hub needs (meta rows, the event log and the outbox table). */
export interface HubStore {
	getMeta(key: string): string | undefined;
	setMeta(key: string, value: string): void;
	appendEvents(pair: string, events: readonly PairEvent[]): void;
	readonly outbox: OutboxStore;
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
	/** Messages waiting in the outbox for a retry (one per message and notifier); times in ms since epoch. */
	outbox: { waiting: number; critical: number; oldestAt?: number; nextAt?: number };
}

const DEDUPE_KEY = "notify_dedupe";
const LAST_KEY = "notify_last";

export class NotificationHub {
	private sent = 0;
	private suppressed = 0;
	/** Dedupe keys with a first delivery under way: a repeat meanwhile is folded into it. */
	private readonly inFlight = new Set<string>();
	private draining = false;

	constructor(private readonly deps: HubDeps) {}

	/** Never blocks and never throws: deliveries run in the background (agent calls never wait for them). */
	dispatch(pair: string, events: readonly PairEvent[]): void {
		const notifiable = events.filter((e) => e.notify);
		if (notifiable.length === 0 || this.deps.config.notifiers.length === 0) return;
		const now = this.deps.clock();
		// Dedupe counts deliveries only; a message still on its way (first try or outbox) holds its repeats.
		const delivered = fromDedupeRecord(safeJson(this.deps.store.getMeta(DEDUPE_KEY)));
		const waiting = new Set(this.deps.store.outbox.list().map((e) => e.key));
		const fresh: { ev: PairEvent; key: string }[] = [];
		for (const ev of notifiable) {
			const key = dedupeKey(pair, ev);
			const pending = this.inFlight.has(key) || waiting.has(key);
			// A critical alert is swallowed only as a straight repeat. Back after another event of the pair
			// (both-down, then recovered, then both-down again) it is news: suppressing it would leave the
			// last word "recovered" while nothing can take over. Warnings keep the window, so a flapping
			// condition does not flood.
			const news = ev.severity === "critical" && sentSince(delivered, pair, key);
			if (pending || !(news || shouldSend(key, now, delivered))) {
				this.suppressed += 1;
				continue;
			}
			this.inFlight.add(key);
			fresh.push({ ev, key });
		}
		for (const { ev, key } of fresh) {
			this.sent += 1;
			const message = buildMessage(pair, ev, { dashboardUrl: this.deps.dashboardUrl });
			const delivery = sendAll(message, this.deps.config.notifiers, {
				fetch: this.deps.fetch,
				now: this.deps.clock,
				...(this.deps.sleep ? { sleep: this.deps.sleep } : {}),
			})
				.then((results) => this.settle(pair, ev, key, results))
				.catch((e) => console.error("notification delivery threw (a bug)", e))
				.finally(() => this.inFlight.delete(key));
			this.deps.waitUntil(delivery);
		}
	}

	/**
	 * Retries what waits in the outbox, from the alarm after the ticks it waits for are done. Never
	 * blocks and never throws: drops what is past its maximum age (recorded as an event), then sends
	 * up to OUTBOX_DRAIN_PER_ALARM due messages one after another in the background, one attempt each.
	 */
	drain(): void {
		if (this.draining) return;
		const now = this.deps.clock();
		const outbox = this.deps.store.outbox;
		for (const e of outbox.list()) {
			if (!expired(e, now)) continue;
			outbox.remove(e.id);
			this.logDrop(
				e,
				`not delivered within ${OUTBOX_MAX_AGE_MS / 3_600_000} h (${e.attempts} attempts; last: ${e.lastError})`,
				now,
			);
		}
		const due = dueEntries(outbox.list(), now);
		if (due.length === 0) return;
		this.draining = true;
		const run = (async () => {
			// One at a time: the alarm's probes and agent calls keep the invocation's connections.
			for (const e of due) await this.retry(e);
		})()
			.catch((e) => console.error("outbox retry threw (a bug)", e))
			.finally(() => {
				this.draining = false;
			});
		this.deps.waitUntil(run);
	}

	status(): NotificationStatus {
		const waiting = this.deps.store.outbox.list();
		return {
			notifiers: this.deps.config.notifiers.map((n) => n.kind),
			configErrors: this.deps.config.errors.map(describeConfigError),
			last: (safeJson(this.deps.store.getMeta(LAST_KEY)) ?? {}) as Record<string, LastDelivery>,
			sent: this.sent,
			suppressed: this.suppressed,
			outbox: {
				waiting: waiting.length,
				critical: waiting.filter((e) => e.event.severity === "critical").length,
				...(waiting.length === 0
					? {}
					: {
							oldestAt: Math.min(...waiting.map((e) => e.createdAt)),
							nextAt: Math.min(...waiting.map((e) => e.nextAt)),
						}),
			},
		};
	}

	/** After a first delivery: dedupe what arrived, keep what failed for a while, log one entry. */
	private settle(
		pair: string,
		ev: PairEvent,
		key: string,
		results: readonly DeliveryResult[],
	): void {
		const at = this.deps.clock();
		if (results.some((r) => r.ok)) this.markDelivered(key, at);
		this.updateLast(results, ev.kind, at);
		const parts: string[] = [];
		const sentTo = results.filter((r) => r.ok).map((r) => r.notifier);
		if (sentTo.length > 0) parts.push(`sent to ${sentTo.join(", ")}`);
		const failed = results.filter((r) => !r.ok);
		for (const f of failed) {
			const what = `${f.notifier} failed after ${f.attempts} attempt(s): ${f.error ?? "unknown"}`;
			if (!f.transient) {
				parts.push(`${what}; not retried (the provider refused it)`);
				continue;
			}
			const entry = this.enqueue(pair, ev, key, f, at);
			parts.push(
				`${what}; kept in the outbox, next try in ${Math.ceil((entry.nextAt - at) / 1000)} s`,
			);
		}
		this.deps.store.appendEvents(pair, [
			note(ev, at, failed.length > 0 ? "warning" : "info", parts.join("; "), failed.length > 0),
		]);
	}

	private enqueue(
		pair: string,
		ev: PairEvent,
		key: string,
		r: DeliveryResult,
		at: number,
	): OutboxEntry {
		const outbox = this.deps.store.outbox;
		const list = outbox.list();
		const same = list.find((e) => e.key === key && e.notifier === r.notifier);
		if (same) return same;
		if (list.length >= OUTBOX_MAX_ENTRIES) {
			// Oldest non-critical first, so a critical alert is never pushed out by warnings.
			const victim = list.find((e) => e.id === evictionVictim(list));
			if (victim) {
				outbox.remove(victim.id);
				this.logDrop(victim, `the outbox is full (${OUTBOX_MAX_ENTRIES} waiting)`, at);
			}
		}
		return outbox.add({
			pair,
			notifier: r.notifier,
			key,
			event: ev,
			createdAt: at,
			nextAt: nextAttemptAt(at, at, r.retryAfterMs),
			attempts: r.attempts,
			lastError: r.error ?? "unknown",
		});
	}

	private async retry(e: OutboxEntry): Promise<void> {
		const outbox = this.deps.store.outbox;
		const notifier = this.deps.config.notifiers.find((n) => n.kind === e.notifier);
		if (!notifier) {
			outbox.remove(e.id);
			this.logDrop(e, `${e.notifier} is no longer configured`, this.deps.clock());
			return;
		}
		const message = buildMessage(e.pair, e.event, { dashboardUrl: this.deps.dashboardUrl });
		const [r] = await sendAll(message, [notifier], {
			fetch: this.deps.fetch,
			now: this.deps.clock,
			// The outbox is the retry: one request per alarm, never a wait inside it.
			retries: 0,
		});
		const at = this.deps.clock();
		if (!r) return;
		const attempts = e.attempts + r.attempts;
		if (r.ok) {
			outbox.remove(e.id);
			this.markDelivered(e.key, at);
			this.updateLast([{ ...r, attempts }], e.event.kind, at);
			const after = Math.round((at - e.createdAt) / 1000);
			this.deps.store.appendEvents(e.pair, [
				note(e.event, at, "info", `sent to ${r.notifier} on attempt ${attempts}, ${after} s late`),
			]);
		} else if (r.transient) {
			// No event row per failed retry (rows written); the outbox row and status carry it.
			outbox.reschedule(
				e.id,
				nextAttemptAt(at, e.createdAt, r.retryAfterMs),
				attempts,
				r.error ?? "unknown",
			);
		} else {
			outbox.remove(e.id);
			this.updateLast([{ ...r, attempts }], e.event.kind, at);
			this.logDrop(
				{ ...e, attempts },
				`${r.error ?? "unknown"}; the provider refused it, not retried`,
				at,
			);
		}
	}

	private markDelivered(key: string, at: number): void {
		const delivered = fromDedupeRecord(safeJson(this.deps.store.getMeta(DEDUPE_KEY)));
		const next = recordDelivery(key, at, delivered);
		this.deps.store.setMeta(DEDUPE_KEY, JSON.stringify(toDedupeRecord(next)));
	}

	private updateLast(
		results: readonly DeliveryResult[],
		kind: PairEvent["kind"],
		at: number,
	): void {
		const last = (safeJson(this.deps.store.getMeta(LAST_KEY)) ?? {}) as Record<
			string,
			LastDelivery
		>;
		for (const r of results) {
			last[r.notifier] = {
				at,
				ok: r.ok,
				attempts: r.attempts,
				kind,
				...(r.error ? { error: r.error } : {}),
			};
		}
		this.deps.store.setMeta(LAST_KEY, JSON.stringify(last));
	}

	/** A message given up: one warning in its pair's log, quoting what was lost. */
	private logDrop(e: OutboxEntry, why: string, at: number): void {
		this.deps.store.appendEvents(e.pair, [
			note(e.event, at, "warning", `${e.notifier} dropped "${e.event.summary}": ${why}`, true),
		]);
	}
}

/** The log entry about a delivery of `ev` (never notified itself). */
function note(
	ev: PairEvent,
	at: number,
	severity: PairEvent["severity"],
	text: string,
	failed = false,
): PairEvent {
	return {
		kind: "notification",
		severity,
		at,
		from: ev.to,
		to: ev.to,
		term: ev.term,
		summary: `notification "${ev.kind}": ${text}`,
		evidence: [],
		next: failed
			? "Check the notifier's URL or token (wrangler secret put ...) and that the endpoint is up."
			: "",
		notify: false,
	};
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
