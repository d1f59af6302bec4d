import { describe, expect, it } from "vitest";
import {
	DUE_TOLERANCE_MS,
	nextAlarmAt,
	rearmReason,
	slotFor,
	tickBudgetMs,
} from "../../worker/src/schedule";

const T = 1_800_000_000_000;
const I = 5_000;

describe("slotFor", () => {
	it("ticks a pair that never ticked, now", () => {
		expect(slotFor(undefined, I, T)).toBe(T);
	});

	it("skips a pair that is not due: a duplicate alarm does not tick twice", () => {
		expect(slotFor(T, I, T)).toBeNull();
		expect(slotFor(T, I, T + 1_000)).toBeNull();
		expect(slotFor(T, I, T + I - DUE_TOLERANCE_MS - 1)).toBeNull();
	});

	it("keeps the grid when the alarm is a little early or late, so the loop does not drift", () => {
		expect(slotFor(T, I, T + I - DUE_TOLERANCE_MS)).toBe(T + I);
		expect(slotFor(T, I, T + I + 40)).toBe(T + I);
		expect(slotFor(T, I, T + I + I / 2)).toBe(T + I);
	});

	it("starts a fresh grid when more than half an interval late, never bursting missed ticks", () => {
		expect(slotFor(T, I, T + I + I / 2 + 1)).toBe(T + I + I / 2 + 1);
		expect(slotFor(T, I, T + 10 * I)).toBe(T + 10 * I);
	});
});

describe("nextAlarmAt", () => {
	it("is the earliest due time", () => {
		expect(nextAlarmAt([T + 5_000, T + 2_000, T + 9_000], T)).toBe(T + 2_000);
	});

	it("is never at or before now", () => {
		expect(nextAlarmAt([T - 10, T], T)).toBe(T + 1);
	});

	it("is null with nothing to watch", () => {
		expect(nextAlarmAt([], T)).toBeNull();
	});
});

describe("tickBudgetMs", () => {
	it("ends a tick before the next alarm, with a margin", () => {
		expect(tickBudgetMs(T + 5_000, T)).toBe(4_500);
		expect(tickBudgetMs(T + 1_000, T)).toBe(900);
	});

	it("leaves a squeezed tick a little time", () => {
		expect(tickBudgetMs(T + 1, T)).toBe(50);
	});
});

describe("rearmReason", () => {
	it("re-arms a missing alarm", () => {
		expect(rearmReason(null, I, T)).toBe("missing");
	});

	it("re-arms an alarm more than two intervals overdue", () => {
		expect(rearmReason(T - 2 * I - 1, I, T)).toBe("stale");
		expect(rearmReason(T - 2 * I, I, T)).toBeNull();
	});

	it("brings in an alarm set too far ahead (e.g. by a config with a longer interval)", () => {
		expect(rearmReason(T + 2 * I + 1, I, T)).toBe("too-far");
		expect(rearmReason(T + I, I, T)).toBeNull();
	});
});
