// The primary's own agent as a witness (issue 13): its "ready" vetoes, its silence confirms, its failing checks are the evidence.
import { describe, expect, it } from "vitest";
import { initialState } from "../../worker/src/decide";
import type { GatewayReport, Observation, PrimaryAgentView } from "../../worker/src/types";
import { otherVotes, primaryAgentVote, verdict } from "../../worker/src/witness";
import {
	cfg,
	cfgTailscale,
	FAIL,
	feed,
	HTTP503,
	kinds,
	sbDown,
	sbUp,
	T0,
	TS_DOWN,
	tick,
} from "./support/decide-fixtures";

const report = (state: GatewayReport["state"], failing: string[] = []): GatewayReport => ({
	state,
	failing,
	detail: `gateway ${state}${failing.length ? `: ${failing.join(", ")}` : ""}`,
	ageMs: 500,
});
const agent = (g: GatewayReport | null): PrimaryAgentView => ({
	reachable: true,
	term: 0,
	gateway: g,
	maintenanceUntil: null,
});
const SILENT: PrimaryAgentView = { reachable: false, reason: "no status pushed (dial-out)" };
const withAgent = (o: Observation, a: PrimaryAgentView): Observation =>
	o.kind === "tick" ? { ...o, primaryAgent: a } : o;
const times = (n: number, o: Observation) => Array<Observation>(n).fill(o);
/** A pair with a primary agent (either transport), three failed probes to the threshold. */
const withPrimary = (over: Record<string, unknown> = {}) =>
	cfg({
		primary: { readyUrl: "http://127.0.0.1:9001/readyz", agentUrl: "http://127.0.0.1:9003" },
		...over,
	});

describe("what the primary's agent proves", () => {
	it.each([
		["ready", agent(report("ready")), "up", "gateway"],
		["not ready", agent(report("not-ready", ["discord"])), "down", "gateway"],
		["stopped", agent(report("stopped")), "down", "gateway"],
		["starting", agent(report("starting", ["startup-sidecars"])), "unknown", "gateway"],
		["reachable, no report (older agent)", agent(null), "unknown", "gateway"],
		["silent", SILENT, "down", "host"],
	] as const)("%s -> %s at %s level", (_n, view, vote, level) => {
		expect(primaryAgentVote(view)).toEqual({ vote, level });
	});

	it.each([
		["all", sbDown()],
		[1, sbDown()],
		[2, sbDown()],
	] as const)(
		"its 'ready' vetoes a promotion whatever the quorum (%s) and the other witnesses say",
		(quorum, standby) => {
			const c = cfgTailscale({
				witnesses: { standby: true, tailscale: { deviceId: "d" }, quorum },
			});
			const votes = otherVotes(c, standby, TS_DOWN, agent(report("ready")));
			expect(verdict(votes, c.witnesses.quorum, "connection")).toBe("disagree");
			expect(verdict(votes, c.witnesses.quorum, "service")).toBe("disagree");
		},
	);

	it("its silence confirms a connection-level failure but never outvotes a standby that sees the primary up", () => {
		const c = withPrimary();
		expect(verdict(otherVotes(c, sbDown(), undefined, SILENT), "all", "connection")).toBe("down");
		expect(verdict(otherVotes(c, sbUp(), undefined, SILENT), "all", "connection")).toBe("disagree");
		expect(verdict(otherVotes(c, sbUp(), undefined, SILENT), 1, "connection")).toBe("disagree");
	});
});

describe("decide() with the primary's agent", () => {
	it("primary serving, every inbound path cut (Worker probe and standby probe fail): suspect-partition naming the paths, no promotion", () => {
		const obs = withAgent(tick(FAIL, sbDown()), agent(report("ready")));
		const { state, decisions } = feed(initialState(T0), times(10, obs), withPrimary(), T0);
		expect(state.state).toBe("suspect-partition");
		expect(state.term).toBe(0);
		expect(decisions.flatMap((d) => d.commands)).toEqual([]);
		const ev = decisions.flatMap((d) => d.events).find((e) => e.kind === "suspect-partition");
		expect(ev?.summary).toMatch(/own agent reports its gateway ready.*standby sees it down/);
		expect(ev?.next).toMatch(/Worker's path.*standby's tailnet path/);
	});

	it("Worker probe failing and the primary's agent silent: promotes (the silence confirms)", () => {
		const obs = withAgent(tick(FAIL, sbDown()), SILENT);
		const { state } = feed(initialState(T0), times(3, obs), withPrimary(), T0);
		expect(state.state).toBe("promoting");
	});

	it("the agent's failing checks are the evidence of the promotion", () => {
		const obs = withAgent(
			tick(HTTP503, sbDown()),
			agent(report("not-ready", ["discord", "telegram"])),
		);
		const { decisions } = feed(initialState(T0), times(3, obs), withPrimary(), T0);
		expect(kinds(decisions)).toContain("promoting");
		const promoting = decisions.flatMap((d) => d.events).find((e) => e.kind === "promoting");
		expect(promoting?.evidence.map((e) => e.saw).join("\n")).toMatch(/discord, telegram/);
	});
});
