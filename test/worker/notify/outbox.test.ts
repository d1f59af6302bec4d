// The outbox's pure rules: what a full outbox drops, what is due, when a message is too old.
import { describe, expect, it } from "vitest";
import {
	dueEntries,
	evictionVictim,
	expired,
	OUTBOX_DRAIN_PER_ALARM,
	OUTBOX_MAX_AGE_MS,
	type OutboxEntry,
} from "../../../worker/src/notify/outbox";
import { event, T0 } from "./fixtures";

const entry = (
	id: number,
	severity: "critical" | "warning" | "info",
	createdAt: number,
	nextAt = createdAt,
): OutboxEntry => ({
	id,
	pair: "home",
	notifier: "webhook",
	key: `k${id}`,
	event: event({ severity }),
	createdAt,
	nextAt,
	attempts: 1,
	lastError: "HTTP 502",
});

describe("evictionVictim", () => {
	it("drops the oldest non-critical entry, whatever the order of the list", () => {
		const list = [
			entry(1, "critical", T0),
			entry(4, "info", T0 + 3),
			entry(2, "warning", T0 + 1),
			entry(3, "critical", T0 + 2),
		];
		expect(evictionVictim(list)).toBe(2);
		expect(evictionVictim([...list].reverse())).toBe(2);
	});
	it("only when all are critical, the oldest critical; nothing when empty", () => {
		expect(evictionVictim([entry(2, "critical", T0 + 1), entry(1, "critical", T0)])).toBe(1);
		expect(evictionVictim([])).toBeUndefined();
	});
});

describe("dueEntries", () => {
	it("only due entries, critical first then oldest, at most the per-alarm limit, skipping those in flight", () => {
		const list = [
			entry(1, "warning", T0),
			entry(2, "critical", T0 + 5),
			entry(3, "warning", T0 + 1),
			entry(4, "critical", T0 + 2, T0 + 1_000),
			entry(5, "info", T0 + 3),
			entry(6, "critical", T0 + 4),
		];
		const due = dueEntries(list, T0 + 500).map((e) => e.id);
		expect(due).toEqual([6, 2, 1].slice(0, OUTBOX_DRAIN_PER_ALARM));
		expect(dueEntries(list, T0 + 500, new Set([6])).map((e) => e.id)).toEqual([2, 1, 3]);
	});
});

describe("expired", () => {
	it("past the maximum age, not at it", () => {
		expect(expired({ createdAt: T0 }, T0 + OUTBOX_MAX_AGE_MS)).toBe(false);
		expect(expired({ createdAt: T0 }, T0 + OUTBOX_MAX_AGE_MS + 1)).toBe(true);
	});
});
