// Vote classes and evidence levels (issue 9 §1): what a refused, a service-level and a host-level observation can and cannot prove.
import { describe, expect, it } from "vitest";
import { initialState } from "../../worker/src/decide";
import type { Observation, PeerProbe, ProbeResult, StandbyView } from "../../worker/src/types";
import {
	cfg,
	cfgTailscale,
	FAIL,
	feed,
	HTTP503,
	kinds,
	OK,
	REFUSED,
	sbDown,
	sbUp,
	T0,
	TS_DOWN,
	TS_UP,
	tick,
} from "./support/decide-fixtures";

const times = (n: number, o: Observation) => Array<Observation>(n).fill(o);
const status = (s: number): ProbeResult => ({
	ok: false,
	reason: "http-status",
	status: s,
	ms: 12,
});
/** The standby's probe of the primary got this HTTP status. */
function sbStatus(s: number, term = 0): StandbyView {
	const primary: PeerProbe = {
		ok: false,
		reason: "http-status",
		status: s,
		consecutiveFailures: 9,
		consecutiveSuccesses: 0,
		ageMs: 1_000,
	};
	return { reachable: true, primary, term, gatewayActive: false };
}
const BODY_MISMATCH: ProbeResult = { ok: false, reason: "body-mismatch", status: 200, ms: 8 };

describe("refused or misdirected is never a down vote", () => {
	it("the issue's input: a healthy primary whose /readyz answers 403 to both the Worker and the standby is never promoted; one warning", () => {
		const r = feed(initialState(T0), times(500, tick(status(403), sbStatus(403))), cfg(), T0);
		expect(r.decisions.every((d) => d.state.state === "primary-active")).toBe(true);
		expect(r.decisions.flatMap((d) => d.commands)).toEqual([]);
		const warnings = r.decisions.flatMap((d) => d.events);
		expect(warnings.map((e) => e.kind)).toEqual(["config-problem", "config-problem"]);
		expect(warnings[0]?.summary).toMatch(/HTTP 403/);
		expect(warnings[0]?.summary).toContain("http://127.0.0.1:9001/readyz");
		expect(warnings[1]?.summary).toMatch(/standby's probe .* HTTP 403/);
		expect(r.state.conditions?.["probe-refused"]?.raised).toBe(true);
	});

	const REFUSALS = [301, 302, 303, 307, 308, 400, 401, 403, 404, 405, 410, 418, 429];
	it.each(REFUSALS)(
		"HTTP %i to the Worker, the standby seeing the primary down: no promotion",
		(code) => {
			const r = feed(initialState(T0), times(50, tick(status(code), sbDown())), cfg(), T0);
			expect(r.decisions.flatMap((d) => d.commands)).toEqual([]);
			expect(r.state.fails).toBe(0);
			expect(kinds(r.decisions).filter((k) => k === "config-problem")).toHaveLength(1);
		},
	);

	it.each(REFUSALS)("HTTP %i seen by the standby is an unknown vote, not a down one", (code) => {
		// Worker times out (a partition is possible): the standby's refused probe cannot confirm it.
		const r = feed(initialState(T0), times(10, tick(FAIL, sbStatus(code))), cfg(), T0);
		expect(r.state.state).toBe("suspect-partition");
		expect(r.decisions.flatMap((d) => d.commands)).toEqual([]);
	});

	it("a refused answer between failures neither counts nor resets the count", () => {
		const r = feed(
			initialState(T0),
			[
				tick(FAIL, sbDown()),
				tick(status(403), sbDown()),
				tick(FAIL, sbDown()),
				tick(FAIL, sbDown()),
			],
			cfg(),
			T0,
		);
		expect(r.decisions.map((d) => d.state.fails)).toEqual([1, 1, 2, 3]);
		expect(r.state.state).toBe("promoting");
	});

	it("the warning clears with an info event once the probe answers as a readiness URL again", () => {
		const r = feed(initialState(T0), [tick(status(404), sbUp()), tick(OK, sbUp())], cfg(), T0);
		expect(kinds(r.decisions)).toEqual(["config-problem", "condition-cleared"]);
		expect(r.state.conditions?.["probe-refused"]).toBeUndefined();
	});
});

describe("evidence levels", () => {
	it("the issue's input: {standby, tailscale}, quorum all, 503 on every tick, standby down, Tailscale connected -> promotion after failThreshold", () => {
		const c = cfgTailscale();
		const r = feed(initialState(T0), times(5, tick(HTTP503, sbDown(), TS_UP)), c, T0);
		expect(r.decisions.findIndex((d) => d.state.state === "promoting")).toBe(c.failThreshold - 1);
		expect(kinds(r.decisions)).not.toContain("suspect-partition");
	});

	it.each([
		["503", HTTP503],
		["500", status(500)],
		["502", status(502)],
		["body mismatch on a 200", BODY_MISMATCH],
	])(
		"a service-level failure (%s) rules out a partition: promotes even when no witness can vote",
		(_n, probe) => {
			const noProbe: StandbyView = {
				reachable: true,
				primary: null,
				term: 0,
				gatewayActive: false,
			};
			const r = feed(initialState(T0), times(3, tick(probe, noProbe, TS_UP)), cfgTailscale(), T0);
			expect(r.state.state).toBe("promoting");
			expect(r.state.reason).toMatch(/HTTP answer/);
		},
	);

	it.each([
		["503", HTTP503],
		["body mismatch", BODY_MISMATCH],
	])(
		"a service-level failure (%s) is still contradicted by the standby seeing the gateway ready",
		(_n, probe) => {
			const r = feed(initialState(T0), times(5, tick(probe, sbUp(), TS_DOWN)), cfgTailscale(), T0);
			expect(r.state.state).toBe("suspect-partition");
		},
	);

	it.each([
		["timeout", FAIL],
		["connection refused", REFUSED],
	])(
		"a connection-level failure (%s): Tailscale connected counts when the standby cannot vote (suspected partition)",
		(_n, probe) => {
			const noProbe: StandbyView = {
				reachable: true,
				primary: null,
				term: 0,
				gatewayActive: false,
			};
			const r = feed(initialState(T0), times(5, tick(probe, noProbe, TS_UP)), cfgTailscale(), T0);
			expect(r.state.state).toBe("suspect-partition");
			const down = feed(
				initialState(T0),
				times(5, tick(probe, noProbe, TS_DOWN)),
				cfgTailscale(),
				T0,
			);
			expect(down.state.state).toBe("promoting");
		},
	);

	it("Tailscale connected never outvotes the standby's down, whatever the Worker saw", () => {
		for (const probe of [FAIL, REFUSED, HTTP503, BODY_MISMATCH]) {
			const r = feed(initialState(T0), times(3, tick(probe, sbDown(), TS_UP)), cfgTailscale(), T0);
			expect(r.state.state, JSON.stringify(probe)).toBe("promoting");
		}
	});
});

describe("reverse disagreement: the standby sees the primary down, the Worker sees it ready", () => {
	it("warns once after failThreshold polls that the standby's witness is broken and partition protection is off", () => {
		const r = feed(initialState(T0), times(200, tick(OK, sbDown())), cfg(), T0);
		const ev = r.decisions.flatMap((d) => d.events);
		expect(ev.map((e) => e.kind)).toEqual(["witness-broken"]);
		expect(r.decisions.findIndex((d) => d.events.length > 0)).toBe(2);
		expect(ev[0]?.summary).toMatch(/partition protection is off/);
		expect(r.state.state).toBe("primary-active");
	});

	it("clears with an info event when the standby sees the primary ready again", () => {
		const r = feed(
			initialState(T0),
			[...times(3, tick(OK, sbDown())), tick(OK, sbUp())],
			cfg(),
			T0,
		);
		expect(kinds(r.decisions)).toEqual(["witness-broken", "condition-cleared"]);
	});

	it("below failThreshold it says nothing", () => {
		const r = feed(
			initialState(T0),
			[...times(2, tick(OK, sbDown())), tick(OK, sbUp())],
			cfg(),
			T0,
		);
		expect(kinds(r.decisions)).toEqual([]);
	});
});
