// Notification deduplication as pure functions over a small record the Durable Object persists.
import type { PairEvent } from "../types";

/**
 * The same event within this window is sent once. 10 minutes: long enough to swallow an event
 * decide() re-emits on every tick or after a Durable Object restart, short enough that a condition
 * still true later produces a fresh reminder rather than silence.
 */
export const DEDUPE_WINDOW_MS = 10 * 60 * 1000;

/**
 * Most keys kept. Each is roughly pair + kind + term + summary (a few hundred bytes), so the record
 * stays a few tens of KB at most, well inside one storage value; the oldest entries go first.
 */
export const DEDUPE_MAX_KEYS = 256;

/** Key -> when it was last sent (ms since epoch). */
export type DedupeRecord = ReadonlyMap<string, number>;

/**
 * (pair, kind, term, summary). Pair names are [a-z0-9-], the kind a fixed set and the term a
 * number, so "|" cannot collide; the summary is last and may contain anything.
 */
export function dedupeKey(
	pair: string,
	event: Pick<PairEvent, "kind" | "term" | "summary">,
): string {
	return `${pair}|${event.kind}|${event.term}|${event.summary}`;
}

/** True when `key` was not sent within the window before `now`. */
export function shouldSend(
	key: string,
	now: number,
	recent: DedupeRecord,
	windowMs: number = DEDUPE_WINDOW_MS,
): boolean {
	const last = recent.get(key);
	// A time in the future (clock skew between isolates) counts as "just sent", never as "long ago".
	return last === undefined || now - last >= windowMs;
}

/**
 * Decides and records in one step, without mutating `recent`: returns whether to send and the
 * record to persist (expired entries dropped, capped at DEDUPE_MAX_KEYS). Suppressed repeats do
 * not extend the window, so a persistent condition re-notifies once per window.
 */
export function dedupe(
	key: string,
	now: number,
	recent: DedupeRecord,
	windowMs: number = DEDUPE_WINDOW_MS,
): { send: boolean; recent: Map<string, number> } {
	const send = shouldSend(key, now, recent, windowMs);
	const next = new Map<string, number>();
	for (const [k, at] of recent) if (now - at < windowMs) next.set(k, at);
	if (send) {
		next.delete(key);
		next.set(key, now);
	}
	return { send, recent: capOldest(next) };
}

/**
 * Records that `key` was delivered at `now` (expired entries dropped, capped). Only deliveries are
 * recorded: a message that failed and waits in the outbox, or was given up, does not hold back a
 * repeat of its event.
 */
export function recordDelivery(
	key: string,
	now: number,
	recent: DedupeRecord,
	windowMs: number = DEDUPE_WINDOW_MS,
): Map<string, number> {
	const next = new Map<string, number>();
	for (const [k, at] of recent) if (now - at < windowMs && k !== key) next.set(k, at);
	next.set(key, now);
	return capOldest(next);
}

function capOldest(m: Map<string, number>): Map<string, number> {
	if (m.size <= DEDUPE_MAX_KEYS) return m;
	const kept = [...m].sort((a, b) => a[1] - b[1]).slice(m.size - DEDUPE_MAX_KEYS);
	return new Map(kept);
}

/** What the Durable Object stores: JSON-friendly pairs. */
export function toDedupeRecord(recent: DedupeRecord): [string, number][] {
	return [...recent];
}

/** Reads a stored record back; anything malformed is dropped (worst case: one repeat notification). */
export function fromDedupeRecord(stored: unknown): Map<string, number> {
	const out = new Map<string, number>();
	if (!Array.isArray(stored)) return out;
	for (const entry of stored) {
		if (
			Array.isArray(entry) &&
			entry.length === 2 &&
			typeof entry[0] === "string" &&
			typeof entry[1] === "number" &&
			Number.isFinite(entry[1])
		) {
			out.set(entry[0], entry[1]);
		}
	}
	return capOldest(out);
}
