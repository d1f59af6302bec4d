// Witness quorum over sequences of ticks: k-of-n, "all", a single witness, disagreement, unconfirmed, unreachable standby.
import { describe, expect, it } from "vitest";
import { initialState } from "../../worker/src/decide";
import type { Observation } from "../../worker/src/types";
import {
	cfg,
	cfgTailscale,
	FAIL,
	feed,
	kinds,
	notified,
	OK,
	SB_GONE,
	sbDown,
	sbNoProbe,
	sbStale,
	sbUp,
	T0,
	TS_DOWN,
	TS_ERR,
	TS_UP,
	tick,
} from "./support/decide-fixtures";

const times = (n: number, o: Observation) => Array<Observation>(n).fill(o);
const start = () => initialState(T0);

describe("k-of-n", () => {
	it.each([
		["all", sbDown(), TS_DOWN, "promoting"],
		["all", sbDown(), TS_ERR, "promoting"],
		// Tailscale sees the host: its "up" never outvotes the standby's gateway-level down.
		["all", sbDown(), TS_UP, "promoting"],
		["all", sbUp(), TS_DOWN, "suspect-partition"],
		["all", sbStale(), TS_ERR, "suspect-partition"],
		// A host-level "down" never outvotes a witness that sees the gateway up (issue 9 §1).
		[1, sbUp(), TS_DOWN, "suspect-partition"],
		[1, sbDown(), TS_UP, "promoting"],
		[1, sbStale(), TS_ERR, "suspect-partition"],
		[2, sbDown(), TS_DOWN, "promoting"],
		[2, sbDown(), TS_ERR, "suspect-partition"],
		[2, sbDown(), TS_UP, "suspect-partition"],
		[2, SB_GONE, TS_DOWN, "both-down"],
	] as const)(
		"quorum %s, standby %j, tailscale %j -> %s after 3 failures",
		(quorum, sb, ts, want) => {
			const c = cfgTailscale({ witnesses: { quorum } });
			const r = feed(start(), times(3, tick(FAIL, sb, ts)), c, T0);
			expect(r.decisions.slice(0, 2).every((d) => d.state.state === "primary-active")).toBe(true);
			expect(r.state.state).toBe(want);
		},
	);
});

describe("a single witness", () => {
	const c = cfg({ witnesses: { standby: false } });
	it("the Worker's probe alone decides, and the reason says so", () => {
		const r = feed(start(), times(3, tick(FAIL)), c, T0);
		expect(r.state.state).toBe("promoting");
		expect(r.state.reason).toMatch(/the Worker's probe is the only witness configured/);
		expect(r.decisions[2]?.events[0]?.summary).toMatch(/only witness configured/);
	});
	it("even when the standby's status (not a witness) says the primary is up", () => {
		const r = feed(start(), times(3, tick(FAIL, sbUp())), c, T0);
		expect(r.state.state).toBe("promoting");
	});
	it("with two witnesses configured the reason says they agree", () => {
		const r = feed(start(), times(3, tick(FAIL, sbDown())), cfg(), T0);
		expect(r.state.reason).toMatch(/the other witnesses agree/);
	});
});

describe("disagreement -> suspect-partition", () => {
	it("notified once across 1000 ticks, never promotes", () => {
		const r = feed(start(), times(1000, tick(FAIL, sbUp())), cfg(), T0);
		expect(r.state.state).toBe("suspect-partition");
		expect(notified(r.decisions)).toEqual(["suspect-partition"]);
		expect(r.decisions.flatMap((d) => d.commands)).toEqual([]);
	});
	it("once even while the standby's view wavers between up, stale and no probe", () => {
		const views = [sbUp(), sbStale(), sbNoProbe(), sbUp(), sbStale(true)];
		const obs = Array.from({ length: 500 }, (_, i) => tick(FAIL, views[i % views.length]));
		const r = feed(start(), obs, cfg(), T0);
		expect(notified(r.decisions)).toEqual(["suspect-partition"]);
		expect(r.state.state).toBe("suspect-partition");
	});
	it("promotes as soon as the standby agrees", () => {
		const r = feed(start(), [...times(50, tick(FAIL, sbUp())), tick(FAIL, sbDown())], cfg(), T0);
		expect(r.state.state).toBe("promoting");
		expect(kinds(r.decisions)).toEqual(["suspect-partition", "promoting"]);
	});
	it("judgement: a single good Worker probe clears it, so a lossy path re-announces each episode", () => {
		const episode = [tick(FAIL, sbUp()), tick(FAIL, sbUp()), tick(FAIL, sbUp()), tick(OK, sbUp())];
		const r = feed(start(), [...episode, ...episode, ...episode], cfg(), T0);
		expect(notified(r.decisions)).toEqual([
			"suspect-partition",
			"partition-cleared",
			"suspect-partition",
			"partition-cleared",
			"suspect-partition",
			"partition-cleared",
		]);
	});
});

describe("unconfirmed -> suspect-partition", () => {
	it.each([
		["stale standby probe", sbStale()],
		["standby without a primary probe", sbNoProbe()],
	])("%s: suspect-partition with a hint to fix the standby's probe, once", (_n, sb) => {
		const r = feed(start(), times(100, tick(FAIL, sb)), cfg(), T0);
		expect(r.state.state).toBe("suspect-partition");
		expect(r.state.reason).toMatch(/no other witness could confirm/);
		const ev = r.decisions.flatMap((d) => d.events);
		expect(ev).toHaveLength(1);
		expect(ev[0]?.next).toMatch(/primaryReadyUrl/);
	});
});

describe("standby unreachable", () => {
	it("primary down + standby unreachable -> both-down, not promote, alerted once in 1000 ticks", () => {
		const r = feed(start(), times(1000, tick(FAIL, SB_GONE)), cfg(), T0);
		expect(r.state.state).toBe("both-down");
		expect(r.decisions.flatMap((d) => d.commands)).toEqual([]);
		expect(notified(r.decisions)).toEqual(["both-down"]);
	});
	it("also with a single witness configured (there is nobody to promote)", () => {
		const c = cfg({ witnesses: { standby: false } });
		const r = feed(start(), times(3, tick(FAIL, SB_GONE)), c, T0);
		expect(r.state.state).toBe("both-down");
	});
	it("one missed standby poll at the threshold delays by a tick and says nothing critical (issue 9 §6)", () => {
		const r = feed(
			start(),
			[tick(FAIL, sbDown()), tick(FAIL, sbDown()), tick(FAIL, SB_GONE)],
			cfg(),
			T0,
		);
		expect(r.state.state).toBe("primary-active");
		expect(kinds(r.decisions)).toEqual([]);
		const back = feed(r.state, [tick(FAIL, sbDown())], cfg(), T0 + 15_000);
		expect(back.state.state).toBe("promoting");
	});
	it.each([1, 2, 3, 5])(
		"failThreshold %i: both-down only after failThreshold missed polls in a row",
		(threshold) => {
			const c = cfg({ failThreshold: threshold });
			const lead = times(threshold - 1, tick(FAIL, sbDown()));
			const r = feed(start(), [...lead, ...times(threshold, tick(FAIL, SB_GONE))], c, T0);
			const firstBothDown = r.decisions.findIndex((d) => d.state.state === "both-down");
			expect(firstBothDown).toBe(lead.length + threshold - 1);
			const critical = r.decisions
				.slice(0, firstBothDown)
				.flatMap((d) => d.events.filter((e) => e.severity === "critical"));
			expect(critical).toEqual([]);
		},
	);
});
