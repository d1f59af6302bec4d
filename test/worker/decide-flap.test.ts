// Flap damping: more than maxFailoversPerHour promotions in an hour holds the pair until an operator resumes it.
import { describe, expect, it } from "vitest";
import type { PairConfig } from "../../worker/src/config";
import { decide, initialState } from "../../worker/src/decide";
import type { Decision, Observation, PairState } from "../../worker/src/types";
import { cfg, FAIL, OK, op, outcome, sbDown, sbUp, T0, tick } from "./support/decide-fixtures";

const MIN = 60_000;
// Quick cycles: one failure promotes, one good probe fails back at once.
const QUICK = cfg({ failThreshold: 1, recoverThreshold: 1, minActiveSeconds: 0 });

class Pair {
	log: Decision[] = [];
	constructor(
		public s: PairState,
		readonly c: PairConfig,
	) {}
	at(now: number, o: Observation): Decision {
		const d = decide(this.s, o, this.c, now);
		this.s = d.state;
		this.log.push(d);
		return d;
	}
	/** One outage and failback at `now`: promote, promoted, demote, demoted. Returns the state after the outage tick. */
	cycle(now: number): string {
		const d = this.at(now, tick(FAIL, sbDown(this.s.term)));
		if (d.state.state !== "promoting") return d.state.state;
		const term = this.s.term;
		this.at(now + 1, outcome("promote", term, 1, "succeeded"));
		this.at(now + 5_000, tick(OK, sbUp(term)));
		this.at(now + 5_001, outcome("demote", term, 1, "succeeded"));
		return "promoting";
	}
}

describe("flap damping", () => {
	it("three promotions in an hour are allowed, the fourth outage holds", () => {
		const p = new Pair(initialState(T0), QUICK);
		expect([0, 10, 20].map((m) => p.cycle(T0 + m * MIN))).toEqual([
			"promoting",
			"promoting",
			"promoting",
		]);
		expect(p.cycle(T0 + 30 * MIN)).toBe("held");
		expect(p.s).toMatchObject({ active: "primary", term: 3, pending: null });
		const held = p.log.at(-1)?.events[0];
		expect(held).toMatchObject({ kind: "held", severity: "critical", notify: true });
		expect(held?.summary).toMatch(
			/3 failovers already happened in the last hour \(maxFailoversPerHour 3\)/,
		);
	});

	it.each([1, 2, 5])("maxFailoversPerHour %i", (max) => {
		const p = new Pair(
			initialState(T0),
			cfg({ failThreshold: 1, recoverThreshold: 1, minActiveSeconds: 0, maxFailoversPerHour: max }),
		);
		for (let i = 0; i < max; i++) expect(p.cycle(T0 + i * MIN)).toBe("promoting");
		expect(p.cycle(T0 + max * MIN)).toBe("held");
	});

	it("stays held: 2000 ticks over three hours, down or up, never move it or send anything", () => {
		const p = new Pair(initialState(T0), QUICK);
		for (const m of [0, 10, 20, 30]) p.cycle(T0 + m * MIN);
		expect(p.s.state).toBe("held");
		const before = p.log.length;
		for (let i = 0; i < 2000; i++) {
			p.at(T0 + 31 * MIN + i * 5_400, tick(i % 3 ? FAIL : OK, i % 2 ? sbDown(3) : sbUp(3)));
		}
		const after = p.log.slice(before);
		expect(after.every((d) => d.state.state === "held")).toBe(true);
		expect(after.flatMap((d) => d.commands)).toEqual([]);
		expect(after.flatMap((d) => d.events)).toEqual([]);
	});

	it("resume clears it: the next outage promotes again (term 4)", () => {
		const p = new Pair(initialState(T0), QUICK);
		for (const m of [0, 10, 20, 30]) p.cycle(T0 + m * MIN);
		const r = p.at(T0 + 31 * MIN, op("resume"));
		expect(r.state).toMatchObject({ state: "primary-active", failovers: [] });
		expect(p.cycle(T0 + 32 * MIN)).toBe("promoting");
		expect(p.s.term).toBe(4);
	});

	it("the window slides: a promotion 61 minutes ago no longer counts", () => {
		const p = new Pair(initialState(T0), QUICK);
		for (const m of [0, 10, 20]) p.cycle(T0 + m * MIN);
		expect(p.cycle(T0 + 61 * MIN)).toBe("promoting");
		expect(p.s.failovers).toEqual([T0 + 10 * MIN, T0 + 20 * MIN, T0 + 61 * MIN]);
		expect(p.cycle(T0 + 62 * MIN)).toBe("held");
	});

	it("judgement: a promotion exactly 60 minutes ago is outside the window", () => {
		const p = new Pair(initialState(T0), QUICK);
		for (const m of [0, 10, 20]) p.cycle(T0 + m * MIN);
		expect(p.cycle(T0 + 60 * MIN - 1)).toBe("held");
		const q = new Pair(initialState(T0), QUICK);
		for (const m of [0, 10, 20]) q.cycle(T0 + m * MIN);
		expect(q.cycle(T0 + 60 * MIN)).toBe("promoting");
	});

	it("retries of one promotion (failed attempts) count once", () => {
		const p = new Pair(initialState(T0), QUICK);
		p.at(T0, tick(FAIL, sbDown()));
		p.at(T0 + 1, outcome("promote", 1, 1, "failed"));
		p.at(T0 + 2, outcome("promote", 1, 2, "failed"));
		expect(p.s.failovers).toEqual([T0]);
	});

	it("operator-forced promotions count, and are allowed beyond the limit", () => {
		const p = new Pair(initialState(T0), QUICK);
		for (const m of [0, 10, 20]) p.cycle(T0 + m * MIN);
		const d = p.at(T0 + 30 * MIN, op("promote"));
		expect(d.state.state).toBe("promoting");
		expect(d.state.failovers).toHaveLength(4);
	});
});
