// The notification outbox's rules as pure functions: when to retry a failed delivery, when to give up, what a full outbox drops.
import type { PairEvent } from "../types";
import type { NotifierKind } from "./config";

/**
 * Most messages waiting at once (one row per message and notifier). 64: a day of a pair flapping
 * through every kind of event is a few dozen messages; more than that waiting means the provider
 * is down for good, and the event log keeps the full story anyway. It also bounds the rows written
 * by retries (docs/cost.md).
 */
export const OUTBOX_MAX_ENTRIES = 64;

/**
 * After this long a waiting message is dropped and the drop recorded as an event. 24 h: provider
 * outages (Discord, Slack, Telegram) last minutes to hours; an alert a day late is history, which
 * the event log and the status page already hold.
 */
export const OUTBOX_MAX_AGE_MS = 24 * 60 * 60 * 1000;

/** Shortest wait before an outbox retry. 30 s rides out a restart of the endpoint. */
export const OUTBOX_BACKOFF_BASE_MS = 30_000;

/** Longest wait between retries without a hint: 30 min, so a recovered endpoint gets the alert soon after. */
export const OUTBOX_BACKOFF_MAX_MS = 30 * 60 * 1000;

/**
 * Messages retried per alarm, one after another. Each is one request (no in-call retries: the outbox
 * is the retry), so a drain stays far below the 50 subrequests and 6 connections an invocation may
 * use, and well inside waitUntil's 30 s even when all of them time out (3 x 5 s).
 */
export const OUTBOX_DRAIN_PER_ALARM = 3;

/** One message waiting for one notifier. Times are ms since epoch. */
export interface OutboxEntry {
	readonly id: number;
	readonly pair: string;
	readonly notifier: NotifierKind;
	/** The dedupe key of the event (dedupe.ts), so a repeat is folded into the waiting message. */
	readonly key: string;
	/** The event itself: the message is rebuilt at send time (fresh webhook signature, no secrets stored). */
	readonly event: PairEvent;
	/** When the first attempt failed. */
	readonly createdAt: number;
	/** Not retried before this. */
	readonly nextAt: number;
	/** Attempts so far, including the first delivery's. */
	readonly attempts: number;
	/** Why the last attempt failed, already redacted (send.ts). */
	readonly lastError: string;
}

/**
 * When to try again, for a message waiting since `createdAt`: never before the provider's hint (a
 * 429's Retry-After), and never before a backoff as long as the message has already waited, between
 * 30 s and 30 min (so tries land about 30 s, 1 min, 2 min, 4 min ... after the first failure). The
 * backoff holds even under a short hint, so a provider answering "retry in 1 s" forever cannot make
 * every alarm write a row (docs/cost.md counts on this bound).
 */
export function nextAttemptAt(now: number, createdAt: number, retryAfterMs?: number): number {
	const waited = Math.max(0, now - createdAt);
	const backoff = Math.min(Math.max(waited, OUTBOX_BACKOFF_BASE_MS), OUTBOX_BACKOFF_MAX_MS);
	return now + Math.max(backoff, retryAfterMs ?? 0);
}

/** True once a waiting message is older than the maximum age. */
export function expired(entry: Pick<OutboxEntry, "createdAt">, now: number): boolean {
	return now - entry.createdAt > OUTBOX_MAX_AGE_MS;
}

/**
 * The entry a full outbox drops to make room: the oldest non-critical one, so a critical alert is
 * never pushed out by warnings; only when every waiting message is critical, the oldest of them
 * (the newest critical alert is the one that describes the pair now). Undefined when empty.
 */
export function evictionVictim(
	entries: readonly Pick<OutboxEntry, "id" | "createdAt" | "event">[],
): number | undefined {
	const byAge = [...entries].sort((a, b) => a.createdAt - b.createdAt || a.id - b.id);
	return (byAge.find((e) => e.event.severity !== "critical") ?? byAge[0])?.id;
}

/** The entries to retry now: due, oldest first, at most OUTBOX_DRAIN_PER_ALARM. Critical ones go first. */
export function dueEntries(
	entries: readonly OutboxEntry[],
	now: number,
	skip: ReadonlySet<number> = new Set(),
): OutboxEntry[] {
	const rank = (e: OutboxEntry) => (e.event.severity === "critical" ? 0 : 1);
	return entries
		.filter((e) => e.nextAt <= now && !skip.has(e.id))
		.sort((a, b) => rank(a) - rank(b) || a.createdAt - b.createdAt || a.id - b.id)
		.slice(0, OUTBOX_DRAIN_PER_ALARM);
}

/** Where the outbox lives: the Durable Object's SQLite (outbox-store.ts), or memory in tests. */
export interface OutboxStore {
	/** Every waiting entry (at most OUTBOX_MAX_ENTRIES). */
	list(): readonly OutboxEntry[];
	add(entry: Omit<OutboxEntry, "id">): OutboxEntry;
	/** After another failed attempt. */
	reschedule(id: number, nextAt: number, attempts: number, lastError: string): void;
	remove(id: number): void;
}
