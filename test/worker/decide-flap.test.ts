// Flap damping holds the failback, never the failover: a primary that fails again soon after a failback leaves the pair resting on the standby.
import { describe, expect, it } from "vitest";
import type { PairConfig } from "../../worker/src/config";
import { decide, initialState } from "../../worker/src/decide";
import type { Decision, Observation, PairState, ProbeResult } from "../../worker/src/types";
import {
	cfg,
	FAIL,
	HTTP503,
	OK,
	op,
	outcome,
	sbDown,
	sbUp,
	T0,
	tick,
} from "./support/decide-fixtures";
import { simulate } from "./support/decide-sim";

const MIN = 60_000;
// Quick cycles: one failure promotes, one good probe fails back at once.
const QUICK = cfg({
	failThreshold: 1,
	recoverThreshold: 1,
	minActiveSeconds: 0,
	recoverSeconds: 0,
});

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
	/** One outage at `now`: promote; then, if the failback is not held, fail back. Returns where it rests. */
	cycle(now: number): string {
		const d = this.at(now, tick(FAIL, sbDown(this.s.term)));
		if (d.state.state !== "promoting") return d.state.state;
		const term = this.s.term;
		this.at(now + 1, outcome("promote", term, 1, "succeeded"));
		const back = this.at(now + 5_000, tick(OK, sbUp(term, true)));
		if (back.state.state !== "demoting") return back.state.state;
		this.at(now + 5_001, outcome("demote", term, 1, "succeeded"));
		return this.s.state;
	}
}

describe("flap damping holds the failback", () => {
	// 2000 ticks after the hold.
	it("a failure within the hour after a failback: the failover happens, the next failback is held", {
		timeout: 30_000,
	}, () => {
		const p = new Pair(initialState(T0), QUICK);
		expect(p.cycle(T0)).toBe("primary-active");
		expect(p.cycle(T0 + 10 * MIN)).toBe("standby-active");
		const promoted = p.log.find((d) => d.events.some((e) => e.kind === "failback-held"));
		const held = promoted?.events.find((e) => e.kind === "failback-held");
		expect(held).toMatchObject({ severity: "warning", notify: true });
		expect(held?.summary).toMatch(/primary flapping, failback held/);
		expect(held?.next).toMatch(/resume the pair .* or fail back by hand/);
		expect(p.s).toMatchObject({ active: "standby", failbackHeld: true });
		expect(p.s.reason).toBe("primary flapping, failback held; resume or fail back by hand");
		// Hours of a ready primary never fail back by themselves.
		for (let i = 0; i < 2000; i++) p.at(T0 + 11 * MIN + i * 5_000, tick(OK, sbUp(2, true)));
		expect(p.s.state).toBe("standby-active");
		expect(p.log.slice(-2000).flatMap((d) => d.commands)).toEqual([]);
	});

	it("resume allows the failback again; a failback by hand works while held", () => {
		const p = new Pair(initialState(T0), QUICK);
		p.cycle(T0);
		p.cycle(T0 + 10 * MIN);
		const r = p.at(T0 + 11 * MIN, op("resume"));
		expect(r.events.map((e) => e.kind)).toEqual(["resumed"]);
		expect(r.state.failbackHeld).toBe(false);
		expect(p.at(T0 + 12 * MIN, tick(OK, sbUp(2, true))).state.state).toBe("demoting");

		const q = new Pair(initialState(T0), QUICK);
		q.cycle(T0);
		q.cycle(T0 + 10 * MIN);
		expect(q.at(T0 + 11 * MIN, op("failback")).state.state).toBe("demoting");
		q.at(T0 + 11 * MIN + 1, outcome("demote", 2, 1, "succeeded"));
		expect(q.s).toMatchObject({ state: "primary-active", failbackHeld: false });
	});

	it("a failure more than an hour after the failback is an ordinary outage: failback not held", () => {
		const p = new Pair(initialState(T0), QUICK);
		p.cycle(T0);
		expect(p.cycle(T0 + 61 * MIN)).toBe("primary-active");
		expect(p.log.flatMap((d) => d.events).filter((e) => e.kind === "failback-held")).toEqual([]);
	});

	it("judgement: a failure exactly an hour after the failback is outside the window", () => {
		const p = new Pair(initialState(T0), QUICK);
		p.cycle(T0);
		const failbackAt = T0 + 5_001;
		expect(p.cycle(failbackAt + 60 * MIN - 1)).toBe("standby-active");
		const q = new Pair(initialState(T0), QUICK);
		q.cycle(T0);
		expect(q.cycle(failbackAt + 60 * MIN)).toBe("primary-active");
	});

	it.each([1, 2, 3])(
		"maxFailoversPerHour %i: more failovers than that in an hour hold the failback too",
		(max) => {
			const c = cfg({
				failThreshold: 1,
				recoverThreshold: 1,
				minActiveSeconds: 0,
				recoverSeconds: 0,
				maxFailoversPerHour: max,
			});
			// Failovers forced by the operator and failed back by drills do not flap, so only the count holds.
			const p = new Pair({ ...initialState(T0), failovers: Array(max).fill(T0 - MIN) }, c);
			p.cycle(T0);
			expect(p.s.failbackHeld).toBe(true);
		},
	);

	it("failovers are never refused by damping: the pair never ends held on a dead primary", () => {
		const p = new Pair(initialState(T0), QUICK);
		const where = [0, 5, 10, 15, 20, 25].map((m) => p.cycle(T0 + m * MIN));
		expect(where[0]).toBe("primary-active");
		expect(where.slice(1).every((w) => w === "standby-active" || w === "promoting")).toBe(true);
		expect(p.log.every((d) => d.state.state !== "held")).toBe(true);
	});

	it("retries of one promotion (failed attempts) count once", () => {
		const p = new Pair(initialState(T0), QUICK);
		p.at(T0, tick(FAIL, sbDown()));
		p.at(T0 + 1, outcome("promote", 1, 1, "failed"));
		p.at(T0 + 2, outcome("promote", 1, 2, "failed"));
		expect(p.s.failovers).toEqual([T0]);
	});
});

describe("crash-looping primary (property over timings)", () => {
	// The primary is ready for `upTicks` after each restart, then fails for `downTicks`; 5 s ticks.
	const loop =
		(upTicks: number, downTicks: number, fail: ProbeResult, startAt = 20) =>
		(t: number): ProbeResult =>
			t < startAt ? OK : (t - startAt) % (upTicks + downTicks) < downTicks ? fail : OK;
	const timings: [number, number][] = [];
	for (const up of [6, 12, 18, 24, 30, 40, 60])
		for (const down of [3, 4, 8, 20]) timings.push([up, down]);

	it.each(timings)(
		"ready %i ticks, failing %i ticks, for three hours: rests on the standby, at most one failback",
		(upTicks, downTicks) => {
			const r = simulate({
				ticks: 3 * 720,
				config: cfg(),
				world: { worker: loop(upTicks, downTicks, HTTP503) },
				agent: { ticksToFinish: 1 },
			});
			expect(r.ticks.every((x) => x.state.state !== "held")).toBe(true);
			expect(r.opIds("demote").length).toBeLessThanOrEqual(1);
			expect(r.final.active).toBe("standby");
			expect(r.final.state).toBe("standby-active");
		},
		30_000,
	);
});

describe("crash-looping primary with fencing (a fence wait longer than the loop's down phase)", () => {
	// Fencing on (a primary agent, the default fencing "self"): every decided promotion waits the
	// primary's lease plus the margin, 35 s here, i.e. 7 ticks of 5 s. A primary that is down for less
	// than that and then ready for a while used to be "recovered" in every wait: never failed over, a
	// critical "promoting" each cycle.
	const FENCED = cfg({
		primary: { readyUrl: "http://127.0.0.1:9001/readyz", agentUrl: "http://127.0.0.1:9003" },
	});
	const loop =
		(upTicks: number, downTicks: number, startAt = 20) =>
		(t: number): ProbeResult =>
			t < startAt ? OK : (t - startAt) % (upTicks + downTicks) < downTicks ? HTTP503 : OK;
	const timings: [number, number][] = [];
	for (const up of [4, 6, 12, 24, 60]) for (const down of [3, 4, 5, 6]) timings.push([up, down]);

	it.each(timings)(
		"ready %i ticks, failing %i ticks, for three hours: fails over on the second cycle and rests on the standby",
		(upTicks, downTicks) => {
			const r = simulate({
				ticks: 3 * 720,
				config: FENCED,
				world: { worker: loop(upTicks, downTicks) },
				agent: { ticksToFinish: 1 },
			});
			expect(r.ticks.every((x) => x.state.state !== "held")).toBe(true);
			expect(r.final.active).toBe("standby");
			expect(r.final.state).toBe("standby-active");
			expect(r.final.failbackHeld).toBe(true);
			// At most two decided failovers before it rests: the first cancelled, the second kept.
			expect(r.notified("promoting").length).toBeLessThanOrEqual(2);
			expect(r.opIds("promote").length).toBe(1);
			expect(r.opIds("demote").length).toBe(0);
		},
		30_000,
	);

	it("one recovery inside a fence wait is a blip: no failover, and a later one an hour on is too", () => {
		const r = simulate({
			ticks: 2 * 720 + 100,
			config: FENCED,
			// Down 4 ticks (20 s) at tick 20 and again just over an hour later: each a blip.
			world: {
				worker: (t) => ((t >= 20 && t < 24) || (t >= 20 + 721 && t < 24 + 721) ? HTTP503 : OK),
			},
			agent: { ticksToFinish: 1 },
		});
		expect(r.opIds("promote")).toEqual([]);
		expect(r.notified("recovered").length).toBe(2);
		expect(r.final.state).toBe("primary-active");
	});
});
