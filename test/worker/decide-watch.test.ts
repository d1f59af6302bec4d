// The judge's standing watches: the active standby's own gateway (§2), silent witnesses (§4), the restart grace and maintenance (§8).
import { describe, expect, it } from "vitest";
import { initialState } from "../../worker/src/decide";
import { SILENT_AFTER_MS } from "../../worker/src/decide-watch";
import type {
	GatewayReport,
	Observation,
	PairState,
	PrimaryAgentView,
	StandbyView,
} from "../../worker/src/types";
import {
	cfg,
	cfgTailscale,
	FAIL,
	feed,
	HTTP503,
	kinds,
	NOW,
	OK,
	op,
	REFUSED,
	run,
	sbDown,
	sbNoProbe,
	sbStale,
	sbUp,
	st,
	T0,
	TS_ERR,
	TS_UP,
	tick,
} from "./support/decide-fixtures";
import { simulate } from "./support/decide-sim";
import * as S from "./support/decide-states";

const times = (n: number, o: Observation) => Array<Observation>(n).fill(o);
const report = (state: GatewayReport["state"], failing: string[] = []): GatewayReport => ({
	state,
	failing,
	detail: `gateway ${state}`,
	ageMs: 300,
});
const withGateway = (v: StandbyView, g: GatewayReport | undefined): StandbyView =>
	v.reachable ? { ...v, gateway: g } : v;
const agent = (
	g: GatewayReport | null,
	maintenanceUntil: number | null = null,
): PrimaryAgentView => ({
	reachable: true,
	term: 1,
	gateway: g,
	maintenanceUntil,
});
function tickA(probe: Observation & { kind: "tick" }, a: PrimaryAgentView): Observation {
	return { ...probe, primaryAgent: a };
}
/** Standby serving, promoted an hour ago. */
const serving: PairState = st({ ...S.SA, since: NOW - 3_600_000, activeSince: NOW - 3_600_000 });

describe("watch whichever side is active (§2)", () => {
	it("the issue's input: promoted, the standby's gateway not ready for an hour, the primary still failing -> one critical event with evidence", () => {
		const obs = tick(FAIL, withGateway(sbDown(2, true), report("not-ready", ["discord"])));
		const r = feed(serving, times(720, obs), cfg(), NOW);
		const ev = r.decisions.flatMap((d) => d.events);
		expect(ev.map((e) => e.kind)).toEqual(["active-not-ready"]);
		expect(ev[0]).toMatchObject({ severity: "critical", notify: true });
		expect(ev[0]?.summary).toMatch(/not-ready \(failing discord\)/);
		expect(ev[0]?.evidence.some((e) => /standby's gateway not-ready/.test(e.saw))).toBe(true);
		expect(r.decisions.findIndex((d) => d.events.length > 0)).toBe(2);
		expect(r.state.state).toBe("standby-active");
	});

	it.each([
		["report not-ready", (v: StandbyView) => withGateway(v, report("not-ready"))],
		["report stopped", (v: StandbyView) => withGateway(v, report("stopped"))],
		["old agent: gatewayActive false", (v: StandbyView) => v],
	])(
		"%s while the primary is ready: fail back at once, without minActiveSeconds or recoverSeconds",
		(_n, g) => {
			const fresh = st({ ...S.SA, since: NOW - 1_000, activeSince: NOW - 1_000, fails: 0 });
			const r = feed(fresh, times(4, tick(OK, g(sbUp(2, false)))), cfg(), NOW);
			const at = r.decisions.findIndex((d) => d.state.state === "demoting");
			expect(at).toBe(2);
			expect(kinds(r.decisions)).toEqual(["active-not-ready", "demoting"]);
		},
	);

	it("a failback held for flapping still happens when the standby itself is not ready", () => {
		const held = st({ ...serving, failbackHeld: true, fails: 0 });
		const r = feed(
			held,
			times(3, tick(OK, withGateway(sbUp(2, true), report("stopped")))),
			cfg(),
			NOW,
		);
		expect(r.state.state).toBe("demoting");
	});

	it("a standby reporting ready, or an old agent with its gateway running, raises nothing", () => {
		for (const v of [withGateway(sbDown(2, false), report("ready")), sbDown(2, true)]) {
			const r = feed(serving, times(100, tick(FAIL, v)), cfg(), NOW);
			expect(kinds(r.decisions)).toEqual([]);
		}
	});

	it("clears with an info event when the standby's gateway is ready again", () => {
		const bad = tick(FAIL, withGateway(sbDown(2, true), report("not-ready")));
		const good = tick(FAIL, withGateway(sbDown(2, true), report("ready")));
		const r = feed(serving, [...times(3, bad), good], cfg(), NOW);
		expect(kinds(r.decisions)).toEqual(["active-not-ready", "condition-cleared"]);
	});
});

describe("silent witnesses (§4)", () => {
	const steps = SILENT_AFTER_MS / 5_000;
	it.each([
		["no primary URL on the standby", sbNoProbe(0)],
		["its probe stale", sbStale(true, 0)],
	])(
		"standby witness with %s while the primary is healthy: one warning after a few minutes, a problem in the state",
		(_n, sb) => {
			const r = feed(initialState(T0), times(steps + 50, tick(OK, sb)), cfg(), T0);
			const ev = r.decisions.flatMap((d) => d.events);
			expect(ev.map((e) => e.kind)).toEqual(["witness-silent"]);
			expect(r.decisions.findIndex((d) => d.events.length > 0)).toBe(steps);
			// With the only witness silent, the quorum cannot be met: it says so plainly.
			expect(ev[0]?.summary).toMatch(/quorum cannot be met/);
			expect(r.state.conditions?.["standby-silent"]).toMatchObject({ raised: true });
		},
	);

	it("a Tailscale key that fails: warned, and the quorum is still possible while the standby votes", () => {
		const r = feed(
			initialState(T0),
			times(steps + 5, tick(OK, sbUp(0), TS_ERR)),
			cfgTailscale(),
			T0,
		);
		const ev = r.decisions.flatMap((d) => d.events);
		expect(ev.map((e) => e.kind)).toEqual(["witness-silent"]);
		expect(ev[0]?.summary).toMatch(/Tailscale witness/i);
		expect(ev[0]?.summary).not.toMatch(/quorum cannot be met/);
	});

	it("quorum 2 with Tailscale silent says the quorum is impossible", () => {
		const c = cfgTailscale({ witnesses: { quorum: 2 } });
		const r = feed(initialState(T0), times(steps + 5, tick(OK, sbUp(0), TS_ERR)), c, T0);
		expect(r.decisions.flatMap((d) => d.events)[0]?.summary).toMatch(/quorum cannot be met/);
	});

	it("cleared with an info event when it votes again", () => {
		const r = feed(
			initialState(T0),
			[...times(steps + 1, tick(OK, sbNoProbe(0))), tick(OK, sbUp(0))],
			cfg(),
			T0,
		);
		expect(kinds(r.decisions)).toEqual(["witness-silent", "witness-voting"]);
		expect(r.state.conditions?.["standby-silent"]).toBeUndefined();
	});

	it("silence while the primary is failing is not the witness's fault: no warning", () => {
		const r = feed(initialState(T0), times(steps + 50, tick(FAIL, sbNoProbe(0))), cfg(), T0);
		expect(kinds(r.decisions)).not.toContain("witness-silent");
	});

	it("a short silence (under SILENT_AFTER_MS) says nothing", () => {
		const r = feed(
			initialState(T0),
			[
				...times(steps - 2, tick(OK, sbNoProbe(0))),
				tick(OK, sbUp(0)),
				...times(steps - 2, tick(OK, TS_UP && sbNoProbe(0))),
			],
			cfg(),
			T0,
		);
		expect(kinds(r.decisions)).toEqual([]);
	});
});

describe("restart grace (§8)", () => {
	const starting = agent(report("starting", ["startup-sidecars"]));
	it("the primary's agent says starting: failing probes are not counted, with one info event", () => {
		const r = feed(
			initialState(T0),
			times(10, tickA(tick(REFUSED, sbDown()), starting)),
			cfg(),
			T0,
		);
		expect(r.state.state).toBe("primary-active");
		expect(r.state.fails).toBe(0);
		expect(kinds(r.decisions)).toEqual(["restart-grace"]);
		expect(r.decisions[0]?.events[0]).toMatchObject({ severity: "info", notify: false });
	});

	it("still not ready after startGraceSeconds: down as usual", () => {
		const c = cfg({ startGraceSeconds: 30 });
		const r = feed(initialState(T0), times(20, tickA(tick(HTTP503, sbDown()), starting)), c, T0);
		// Grace covers ticks 0..5 (0-25 s); from tick 6 (30 s) failures count; the 3rd promotes.
		expect(r.decisions.findIndex((d) => d.state.state === "promoting")).toBe(8);
	});

	// 30 simulations of 40 ticks each, every decision checked against the invariants.
	it("every restart phase of a 12-16 s start (refused ~9.5 s, then 503 startup-sidecars, then 200) is never promoted", {
		timeout: 60_000,
	}, () => {
		for (const startMs of [12_000, 13_000, 16_000])
			for (let phase = 0; phase < 5_000; phase += 500) {
				const r = simulate({
					ticks: 40,
					config: cfg(),
					world: {
						worker: (t) => {
							const since = t * 5_000 + phase - 50_000;
							if (since < 0 || since >= startMs) return OK;
							return since < 9_500 ? REFUSED : HTTP503;
						},
						primaryAgent: (t) => {
							const since = t * 5_000 + phase - 50_000;
							return since >= 0 && since < startMs ? starting : agent(report("ready"));
						},
					},
				});
				expect(r.opIds("promote"), `${startMs} ms start, phase ${phase}`).toEqual([]);
			}
	});

	it("without the agent's evidence the same restart can fail over (why the grace needs the primary agent)", () => {
		const r = simulate({
			ticks: 40,
			config: cfg(),
			world: { worker: (t) => (t >= 10 && t < 13 ? REFUSED : t === 13 ? HTTP503 : OK) },
		});
		expect(r.opIds("promote")).toHaveLength(1);
	});

	it("an agent that says not-ready or stopped gets no grace", () => {
		for (const g of [report("not-ready"), report("stopped"), null]) {
			const r = feed(initialState(T0), times(3, tickA(tick(FAIL, sbDown()), agent(g))), cfg(), T0);
			expect(r.state.state).toBe("promoting");
		}
	});
});

describe("maintenance (§8)", () => {
	it("an agent's maintenance window pauses the pair with an event and it resumes by itself when the time is up", () => {
		const until = T0 + 10 * 60_000;
		const obs: Observation[] = [
			tickA(tick(OK, sbUp()), agent(report("ready"), until)),
			// The primary VPS reboots: its agent is unreachable, the window is remembered.
			...times(100, {
				...tick(FAIL, sbDown()),
				primaryAgent: { reachable: false, reason: "timeout" },
			}),
			...times(30, tickA(tick(OK, sbUp()), agent(report("ready")))),
		];
		const r = feed(initialState(T0), obs, cfg(), T0);
		expect(r.decisions[0]?.state.state).toBe("paused");
		expect(r.decisions[0]?.events[0]?.kind).toBe("maintenance");
		expect(r.decisions.flatMap((d) => d.commands)).toEqual([]);
		const resumedAt = r.decisions.findIndex((d) => d.events.some((e) => e.kind === "resumed"));
		expect(resumedAt).toBe(120); // T0 + 600 s at 5 s ticks
		expect(r.state.state).toBe("primary-active");
	});

	it("the standby's maintenance window pauses too; a window in the past changes nothing", () => {
		const sb: StandbyView = { ...sbUp(), maintenanceUntil: NOW + 60_000 } as StandbyView;
		expect(run(st(S.PA), tick(OK, sb)).state.state).toBe("paused");
		const past: StandbyView = { ...sbUp(), maintenanceUntil: NOW - 1 } as StandbyView;
		expect(run(st(S.PA), tick(OK, past)).state.state).toBe("primary-active");
	});

	it("a pair paused by the operator is left to the operator", () => {
		const paused = run(st(S.PA), op("pause")).state;
		const d = run(paused, tickA(tick(OK, sbUp()), agent(report("ready"), NOW + 60_000)));
		expect(d.state.maintenanceUntil ?? null).toBeNull();
		expect(d.events).toEqual([]);
	});
});
