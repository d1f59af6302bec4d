import { describe, expect, it } from "vitest";
import {
	DEDUPE_MAX_KEYS,
	DEDUPE_WINDOW_MS,
	dedupe,
	dedupeKey,
	fromDedupeRecord,
	shouldSend,
	toDedupeRecord,
} from "../../../worker/src/notify/dedupe";
import { event, T0 } from "./fixtures";

describe("dedupe", () => {
	const key = dedupeKey("home", event());

	it("keys on pair, kind, term and summary only", () => {
		expect(dedupeKey("home", event({ at: T0 + 5, evidence: [] }))).toBe(key);
		expect(dedupeKey("away", event())).not.toBe(key);
		expect(dedupeKey("home", event({ kind: "promoted" }))).not.toBe(key);
		expect(dedupeKey("home", event({ term: 5 }))).not.toBe(key);
		expect(dedupeKey("home", event({ summary: "other" }))).not.toBe(key);
	});

	it("sends once per window, then again after it", () => {
		const a = dedupe(key, T0, new Map());
		expect(a.send).toBe(true);
		const b = dedupe(key, T0 + DEDUPE_WINDOW_MS - 1, a.recent);
		expect(b.send).toBe(false);
		// A suppressed repeat does not extend the window.
		expect(b.recent.get(key)).toBe(T0);
		const c = dedupe(key, T0 + DEDUPE_WINDOW_MS, b.recent);
		expect(c.send).toBe(true);
		expect(c.recent.get(key)).toBe(T0 + DEDUPE_WINDOW_MS);
	});

	it("is pure: the input record is never mutated", () => {
		const recent = new Map([["old", T0 - 2 * DEDUPE_WINDOW_MS]]);
		const r = dedupe(key, T0, recent);
		expect([...recent]).toEqual([["old", T0 - 2 * DEDUPE_WINDOW_MS]]);
		expect([...r.recent]).toEqual([[key, T0]]);
	});

	it("treats a future timestamp (clock skew) as just sent", () => {
		expect(shouldSend(key, T0, new Map([[key, T0 + 60_000]]))).toBe(false);
	});

	it("honours a custom window", () => {
		const recent = new Map([[key, T0]]);
		expect(shouldSend(key, T0 + 1_000, recent, 1_000)).toBe(true);
		expect(shouldSend(key, T0 + 999, recent, 1_000)).toBe(false);
	});

	it("caps the record at DEDUPE_MAX_KEYS, dropping the oldest", () => {
		let recent = new Map<string, number>();
		for (let i = 0; i < DEDUPE_MAX_KEYS + 10; i++) recent = dedupe(`k${i}`, T0 + i, recent).recent;
		expect(recent.size).toBe(DEDUPE_MAX_KEYS);
		expect(recent.has("k0")).toBe(false);
		expect(recent.has(`k${DEDUPE_MAX_KEYS + 9}`)).toBe(true);
	});

	it("round-trips through a JSON record and drops malformed entries", () => {
		const recent = dedupe(key, T0, new Map()).recent;
		const stored = JSON.parse(JSON.stringify(toDedupeRecord(recent)));
		expect(fromDedupeRecord(stored)).toEqual(recent);
		expect(fromDedupeRecord([["a", 1], ["b", "x"], [3, 4], "junk", ["c", null]])).toEqual(
			new Map([["a", 1]]),
		);
		expect(fromDedupeRecord(undefined)).toEqual(new Map());
	});
});
