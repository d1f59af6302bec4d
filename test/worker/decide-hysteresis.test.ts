// Hysteresis both ways: no promotion on blips, exactly failThreshold failures; failback only after recoverThreshold and minActiveSeconds.
import { describe, expect, it } from "vitest";
import { initialState } from "../../worker/src/decide";
import type { Observation, PairState } from "../../worker/src/types";
import {
	cfg,
	FAIL,
	feed,
	kinds,
	notified,
	OK,
	op,
	sbDown,
	sbUp,
	st,
	T0,
	tick,
} from "./support/decide-fixtures";

const up = tick(OK, sbUp(0));
const dn = tick(FAIL, sbDown(0));

describe("toward failover", () => {
	it("fail, ok, fail, ok ... for 1000 ticks: never promotes, never says anything", () => {
		const obs = Array.from({ length: 1000 }, (_, i) => (i % 2 ? up : dn));
		const r = feed(initialState(T0), obs, cfg(), T0);
		expect(r.decisions.every((d) => d.state.state === "primary-active")).toBe(true);
		expect(r.decisions.flatMap((d) => d.commands)).toEqual([]);
		expect(kinds(r.decisions)).toEqual([]);
	});

	it.each([1, 2, 3, 5, 10])(
		"failThreshold %i: promotes on exactly the %i-th consecutive failure",
		(n) => {
			const c = cfg({ failThreshold: n });
			const r = feed(initialState(T0), Array(n).fill(dn), c, T0);
			expect(r.decisions.map((d) => d.state.state)).toEqual([
				...Array(n - 1).fill("primary-active"),
				"promoting",
			]);
		},
	);

	it("a good probe resets the count: 2 failures, ok, 2 failures -> still primary-active", () => {
		const r = feed(initialState(T0), [dn, dn, up, dn, dn], cfg(), T0);
		expect(r.state).toMatchObject({ state: "primary-active", fails: 2 });
	});
});

describe("toward failback", () => {
	/** Standby serving since `since`, primary down until now. */
	const serving = (since: number): PairState =>
		st({
			state: "standby-active",
			active: "standby",
			term: 1,
			since,
			activeSince: since,
			fails: 4,
		});
	// The standby's own gateway runs while it serves (gatewayActive), as a real agent reports.
	const back = tick(OK, sbUp(1, true));

	it("one good probe does not demote; alternating ok/fail for 1000 ticks never demotes", () => {
		const obs = Array.from({ length: 1000 }, (_, i) =>
			i % 2 ? tick(FAIL, sbDown(1, true)) : back,
		);
		const r = feed(serving(T0 - 3_600_000), obs, cfg(), T0);
		expect(r.decisions.every((d) => d.state.state === "standby-active")).toBe(true);
		expect(r.decisions.flatMap((d) => d.commands)).toEqual([]);
	});

	it.each([
		// recoverThreshold, minActiveSeconds, interval s, tick index of the demote
		[6, 60, 5, 12], // 60 s of service outlasts 6 probes
		[6, 0, 5, 5], // 6 good probes
		[20, 60, 5, 19],
		[1, 0, 5, 0],
		[6, 60, 30, 5], // 6 probes at 30 s outlast 60 s
		[3, 61, 10, 7], // 61 s needs the 8th tick (70 s)
	])(
		"recoverThreshold %i, minActiveSeconds %i, %i s ticks: demote at tick %i",
		(recover, minActive, interval, at) => {
			const c = cfg({
				recoverThreshold: recover,
				// recoverSeconds has its own table below; here the probe count and minActiveSeconds rule.
				recoverSeconds: 0,
				minActiveSeconds: minActive,
				probeIntervalSeconds: interval,
				probeTimeoutMs: 900,
			});
			// Promoted at T0, the primary ready from the first tick on (tick i at T0 + i * interval).
			const r = feed(serving(T0), Array(at + 5).fill(back), c, T0);
			const first = r.decisions.findIndex((d) => d.state.state === "demoting");
			expect(first).toBe(at);
			expect(r.decisions[at]?.commands).toEqual([
				{ action: "demote", target: "standby", term: 1, opId: "home:demote:t1:a1" },
			]);
		},
	);

	it.each([
		// recoverThreshold, recoverSeconds, interval s, tick index of the demote (first good probe at tick 0)
		[6, 120, 5, 24], // 120 s of continuous readiness outlasts 6 probes
		[6, 20, 5, 5], // 6 probes outlast 20 s
		[3, 90, 30, 3], // 3 probes at 30 s = 60 s < 90 s: needs tick 3 (90 s)
		[6, 121, 5, 25], // 121 s needs the tick at 125 s
	])(
		"recoverThreshold %i, recoverSeconds %i, %i s ticks: demote at tick %i, counted from the primary's return",
		(recover, recoverSeconds, interval, at) => {
			const c = cfg({
				recoverThreshold: recover,
				recoverSeconds,
				minActiveSeconds: 0,
				probeIntervalSeconds: interval,
				probeTimeoutMs: 900,
			});
			// Promoted an hour ago: minActiveSeconds is long past, so only the return counts.
			const down = Array(7).fill(tick(FAIL, sbDown(1, true)));
			const r = feed(serving(T0 - 3_600_000), [...down, ...Array(at + 5).fill(back)], c, T0);
			const first = r.decisions.findIndex((d) => d.state.state === "demoting");
			expect(first - down.length).toBe(at);
		},
	);

	it("a failure in between restarts the count of good probes", () => {
		const c = cfg({ minActiveSeconds: 0, recoverSeconds: 0 });
		const obs = [back, back, back, back, back, tick(FAIL, sbDown(1, true)), ...Array(5).fill(back)];
		const r = feed(serving(T0), obs, c, T0);
		expect(r.state.state).toBe("standby-active");
		const more = feed(r.state, [back], c, T0 + 60_000);
		expect(more.state.state).toBe("demoting");
	});

	it("manual failback waits for the operator, says so once in 1000 ticks, then fails back on request", () => {
		const c = cfg({ failback: "manual", recoverSeconds: 0 });
		const r = feed(serving(T0 - 600_000), Array(1000).fill(back), c, T0);
		expect(r.state.state).toBe("standby-active");
		expect(notified(r.decisions)).toEqual(["failback-awaiting"]);
		expect(r.decisions.flatMap((d) => d.commands)).toEqual([]);
		const go = feed(r.state, [op("failback")], c, T0 + 5_000_000);
		expect(go.state.state).toBe("demoting");
		expect(go.decisions[0]?.commands.map((x) => x.opId)).toEqual(["home:demote:t1:a1"]);
	});

	it("judgement: manual failback-awaiting is once per stay in standby-active, not per recovery", () => {
		const c = cfg({ failback: "manual", recoverSeconds: 0 });
		const obs: Observation[] = [
			...Array(20).fill(back),
			...Array(5).fill(tick(FAIL, sbDown(1, true))),
			...Array(20).fill(back),
		];
		const r = feed(serving(T0 - 600_000), obs, c, T0);
		expect(notified(r.decisions)).toEqual(["failback-awaiting"]);
	});

	it("the count of good probes restarts at promotion: probes during promoting do not count", () => {
		const c = cfg({ minActiveSeconds: 0 });
		const promoting = st({
			state: "promoting",
			active: "primary",
			term: 1,
			fails: 3,
			pending: {
				action: "promote",
				target: "standby",
				term: 1,
				opId: "home:promote:t1:a1",
				attempt: 1,
				issuedAt: T0,
			},
		});
		const r = feed(
			promoting,
			[
				...Array(10).fill(back),
				{
					kind: "command",
					outcome: {
						action: "promote",
						term: 1,
						opId: "home:promote:t1:a1",
						result: "succeeded",
						detail: "",
					},
				},
			],
			c,
			T0,
		);
		expect(r.state).toMatchObject({ state: "standby-active", oks: 0 });
	});
});
