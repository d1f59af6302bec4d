// Terms (epochs) and op ids: incremented per promotion, carried by every command, adopted, bumped on stale-term rejection, bounded retries.
import { describe, expect, it } from "vitest";
import { MAX_TERM, MAX_TERM_ADOPT_JUMP } from "../../protocol/terms";
import { decide, initialState, opIdFor } from "../../worker/src/decide";
import type { Command, Observation, PairState } from "../../worker/src/types";
import {
	cfg,
	FAIL,
	feed,
	NOW,
	OK,
	op,
	outcome,
	pending,
	run,
	sbDown,
	sbUp,
	st,
	T0,
	tick,
} from "./support/decide-fixtures";
import { simulate } from "./support/decide-sim";
import * as S from "./support/decide-states";

const WITH_PRIMARY_AGENT = cfg({
	// Terms, not fencing: promotions go out on the tick they are decided (decide-fencing.test.ts).
	fencing: "off",
	maxFailoversPerHour: 10,
	failThreshold: 1,
	recoverThreshold: 1,
	minActiveSeconds: 0,
	primary: { readyUrl: "http://127.0.0.1:9001/readyz", agentUrl: "http://127.0.0.1:9003" },
});

describe("opIdFor", () => {
	it("is deterministic and distinct per (pair, action, term, attempt)", () => {
		expect(opIdFor("home", "promote", 3, 1)).toBe("home:promote:t3:a1");
		expect(opIdFor("home", "promote", 3, 1)).toBe(opIdFor("home", "promote", 3, 1));
		const ids = new Set<string>();
		for (const pair of ["home", "work"])
			for (const action of ["promote", "demote", "sync"] as const)
				for (let term = 0; term < 5; term++)
					for (let a = 1; a <= 3; a++) ids.add(opIdFor(pair, action, term, a));
		expect(ids.size).toBe(2 * 3 * 5 * 3);
	});
});

describe("terms", () => {
	// 4000 simulated ticks with every invariant checked: seconds on a loaded machine.
	it("each promotion increments the term, and every command of that cycle carries it", {
		timeout: 60_000,
	}, () => {
		// Outages 1000 ticks (5000 s) apart: each comes after the flap window of the last failback.
		const r = simulate({
			ticks: 4000,
			config: WITH_PRIMARY_AGENT,
			world: { worker: (t) => (t % 1000 >= 10 && t % 1000 < 12 ? FAIL : OK) },
			agent: { ticksToFinish: 1 },
		});
		const byTerm = new Map<number, Set<string>>();
		for (const c of r.sent) byTerm.set(c.term, (byTerm.get(c.term) ?? new Set()).add(c.action));
		expect([...byTerm.keys()]).toEqual([1, 2, 3, 4]);
		for (const actions of byTerm.values())
			expect(actions).toEqual(new Set(["promote", "demote", "sync"]));
		for (const c of r.sent) expect(c.opId).toBe(opIdFor("home", c.action, c.term, 1));
	});

	it("demote and sync carry the current term", () => {
		const s = st({ state: "standby-active", active: "standby", term: 7, oks: 0, activeSince: T0 });
		const d = run(s, tick(OK, sbUp(7)), WITH_PRIMARY_AGENT);
		expect(d.commands).toEqual([
			{ action: "demote", target: "standby", term: 7, opId: "home:demote:t7:a1" },
		]);
		const done = run(d.state, outcome("demote", 7, 1, "succeeded"), WITH_PRIMARY_AGENT);
		expect(done.commands).toEqual([
			{ action: "sync", target: "primary", term: 7, opId: "home:sync:t7:a1" },
		]);
	});

	it("a higher term reported by the standby is adopted, and the next promotion goes above it", () => {
		const r = feed(
			initialState(T0),
			[tick(OK, sbUp(10)), tick(FAIL, sbDown(10)), tick(FAIL, sbDown(10)), tick(FAIL, sbDown(10))],
			cfg(),
			T0,
		);
		expect(r.decisions[0]?.state.term).toBe(10);
		expect(r.decisions[0]?.events.map((e) => [e.kind, e.notify])).toEqual([
			["term-adopted", false],
		]);
		expect(r.decisions[3]?.commands).toEqual([
			{ action: "promote", target: "standby", term: 11, opId: "home:promote:t11:a1" },
		]);
	});

	it("not adopted while a command is pending (the pending op keeps the term it was sent with)", () => {
		const s = st({ state: "promoting", term: 2, pending: pending("promote", 2) });
		const d = run(s, tick(FAIL, sbDown(9)));
		expect(d.state.term).toBe(2);
		expect(d.commands[0]?.term).toBe(2);
		// ... and adopted on the first tick after it finishes.
		const done = run(d.state, outcome("promote", 2, 1, "succeeded"));
		expect(run(done.state, tick(FAIL, sbDown(9))).state.term).toBe(9);
	});

	it("a stale-term rejection bumps the term on each retry, then holds after commandAttempts", () => {
		let s: PairState = st({ state: "promoting", term: 2, pending: pending("promote", 2) });
		const sent: Command[] = [];
		for (let a = 1; a <= 3; a++) {
			const d = run(s, outcome("promote", s.term, a, "rejected", "stale term"));
			sent.push(...d.commands);
			s = d.state;
		}
		expect(sent.map((c) => c.opId)).toEqual(["home:promote:t3:a2", "home:promote:t4:a3"]);
		expect(s).toMatchObject({ state: "held", term: 4, pending: null });
	});

	it.each([1, 2, 3, 5, 10])(
		"commandAttempts %i: exactly that many promote op ids, then held with a critical event",
		(n) => {
			const c = cfg({ commandAttempts: n });
			const r = simulate({
				ticks: 50,
				config: c,
				world: { worker: (t) => (t >= 5 ? FAIL : OK) },
				agent: { ticksToFinish: 0, fails: () => true },
			});
			expect(r.opIds("promote")).toHaveLength(n);
			expect(r.final.state).toBe("held");
			const last = r.events.filter((e) => e.kind === "promote-failed").at(-1);
			expect(last).toMatchObject({ severity: "critical", notify: true });
			expect(last?.summary).toMatch(new RegExp(`promotion failed ${n} times`));
			expect(last?.next).not.toBe("");
		},
	);

	it("a promotion after a give-up takes a new term, so no op id is ever reused", () => {
		const r = simulate({
			ticks: 300,
			config: cfg(),
			world: {
				worker: (t) => (t >= 5 ? FAIL : OK),
				operator: (t) => (t === 100 ? "resume" : undefined),
			},
			agent: { ticksToFinish: 0, fails: (action, n) => action === "promote" && n <= 3 },
		});
		expect(r.opIds("promote")).toEqual([
			"home:promote:t1:a1",
			"home:promote:t1:a2",
			"home:promote:t1:a3",
			"home:promote:t2:a1",
		]);
		expect(r.final.state).toBe("standby-active");
	});

	it("forced promotions take a new term too", () => {
		const d = decide(st({ term: 5 }), op("promote"), cfg(), NOW);
		expect(d.commands[0]?.opId).toBe("home:promote:t6:a1");
	});
});

describe("term poisoning (issue 12 §2)", () => {
	it.each([MAX_TERM_ADOPT_JUMP + 1, 50, 1_000_000, MAX_TERM])(
		"a reported jump of %i is not adopted: one term-anomaly warning asking the operator",
		(jump) => {
			const r = feed(st({ ...S.PA, term: 0 }), Array(20).fill(tick(OK, sbUp(jump))), cfg(), NOW);
			expect(r.state.term).toBe(0);
			const ev = r.decisions.flatMap((d) => d.events);
			expect(ev.map((e) => e.kind)).toEqual(["term-anomaly"]);
			expect(ev[0]?.next).toMatch(/reset-term/);
			// The next promotion still takes a term the agents accept.
			const p = feed(r.state, Array(3).fill(tick(FAIL, sbDown(jump))), cfg(), NOW + 100_000);
			expect(p.state.state).toBe("promoting");
			expect(p.state.term).toBe(1);
		},
	);

	it("a jump of exactly MAX_TERM_ADOPT_JUMP is adopted as before", () => {
		const d = run(st({ ...S.PA, term: 3 }), tick(OK, sbUp(3 + MAX_TERM_ADOPT_JUMP)));
		expect(d.state.term).toBe(3 + MAX_TERM_ADOPT_JUMP);
	});

	it("never issues a term above MAX_TERM: at the maximum, an outage holds with a clear event", () => {
		const r = feed(
			st({ ...S.PA, term: MAX_TERM }),
			Array(3).fill(tick(FAIL, sbDown(MAX_TERM))),
			cfg(),
			NOW,
		);
		expect(r.state.state).toBe("held");
		expect(r.state.term).toBe(MAX_TERM);
		expect(r.decisions.flatMap((d) => d.commands)).toEqual([]);
		const held = r.decisions.flatMap((d) => d.events).find((e) => e.kind === "held");
		expect(held?.summary).toMatch(/cannot issue a term above/);
		expect(held?.next).toMatch(/reset-term/);
	});

	it("a stale-term rejection at MAX_TERM holds instead of retrying above it", () => {
		const s = st({ state: "promoting", term: MAX_TERM, pending: pending("promote", MAX_TERM) });
		const d = run(s, outcome("promote", MAX_TERM, 1, "rejected", "stale term"));
		expect(d.state).toMatchObject({ state: "held", term: MAX_TERM, pending: null });
		expect(d.commands).toEqual([]);
	});

	it("operator promote and drill are refused at MAX_TERM", () => {
		for (const c of ["promote", "drill"] as const)
			expect(run(st({ ...S.PA, term: MAX_TERM }), op(c)).refused).toMatch(/reset-term first/);
	});

	describe("reset-term", () => {
		const reset = (term?: number): Observation =>
			term === undefined
				? { kind: "operator", command: "reset-term" }
				: { kind: "operator", command: "reset-term", term };

		it("sets the term the operator gives, clears the anomaly, with an info event", () => {
			const poisoned = feed(st({ ...S.PA, term: 4 }), [tick(OK, sbUp(900))], cfg(), NOW).state;
			const d = run(poisoned, reset(0));
			expect(d.state.term).toBe(0);
			expect(d.events.map((e) => e.kind)).toEqual(["term-reset"]);
			expect(d.state.conditions?.["term-anomaly"]).toBeUndefined();
		});

		it("without a term: the agents' highest reported term", () => {
			const seen = feed(
				st({ ...S.PA, term: MAX_TERM - 5 }),
				[
					{
						...tick(OK, sbUp(7)),
						primaryAgent: { reachable: true, term: 9, gateway: null, maintenanceUntil: null },
					},
				],
				cfg(),
				NOW,
			).state;
			const d = run(seen, reset());
			expect(d.state.term).toBe(9);
			expect(d.events[0]?.summary).toMatch(/agents' highest reported term/);
		});

		it.each<[string, Partial<PairState>, number | undefined, RegExp]>([
			["no agent has reported", { ...S.PA }, undefined, /no agent has reported a term/],
			["a promotion in flight", { ...S.PROM }, 0, /a promote is in progress/],
			["a term with no room for a promotion", { ...S.PA }, MAX_TERM, /expected a term from 0/],
			["a negative term", { ...S.PA }, -1, /expected a term from 0/],
			["a fractional term", { ...S.PA }, 1.5, /expected a term from 0/],
		])("refused: %s", (_n, from, term, why) => {
			expect(run(st(from), reset(term)).refused).toMatch(why);
		});

		it("drops a pending sync (it carries the old term)", () => {
			const d = run(st({ ...S.PAS }), reset(0));
			expect(d.state.pending).toBeNull();
			expect(d.commands).toEqual([]);
		});
	});
});
