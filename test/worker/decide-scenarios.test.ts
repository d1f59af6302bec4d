// Every scenario in the design, run through decide() with the pure simulator (a scripted world and a fake agent).
import { describe, expect, it } from "vitest";
import type { ProbeResult } from "../../worker/src/types";
import { cfg, FAIL, OK } from "./support/decide-fixtures";
import { simulate } from "./support/decide-sim";

const C = cfg(); // failThreshold 3, recoverThreshold 6, minActiveSeconds 60, 5 s ticks, 3 failovers/h
const down =
	(from: number, to = Number.POSITIVE_INFINITY) =>
	(t: number) =>
		t >= from && t < to ? FAIL : OK;

describe("hard-down", () => {
	const r = simulate({
		ticks: 1000,
		config: C,
		world: { worker: down(10) },
		agent: { ticksToFinish: 2 },
	});

	it("sends the promote on the 3rd failed probe (tick 12 for an outage starting at tick 10)", () => {
		expect(r.firstSent("promote")).toBe(12);
		expect(r.firstTick((s) => s.state === "promoting")).toBe(12);
	});
	it("the standby serves 2 ticks later (the agent takes 2 ticks), term 1", () => {
		expect(r.firstTick((s) => s.state === "standby-active")).toBe(14);
		expect(r.final).toMatchObject({ state: "standby-active", active: "standby", term: 1 });
		expect(r.agent.gatewayActive).toBe(true);
	});
	it("one promote op id, run once by the agent, polled until done; no failback while the primary is down", () => {
		expect(r.opIds("promote")).toEqual(["home:promote:t1:a1"]);
		expect(r.agent.runs.promote).toBe(1);
		expect(r.sent.filter((c) => c.action === "promote").map((c) => c.t)).toEqual([12, 13, 14]);
		expect(r.opIds("demote")).toEqual([]);
	});
	it("notifies promoting and promoted, once each, both with evidence", () => {
		expect(r.notified().map((e) => e.kind)).toEqual(["promoting", "promoted"]);
		expect(r.notified("promoting")[0]?.evidence.map((e) => e.witness)).toEqual([
			"worker",
			"standby",
		]);
	});
});

describe("flapping primary (down 4 ticks, up 40, for two hours)", () => {
	const flapping = (t: number) => (t >= 10 && (t - 10) % 44 < 4 ? FAIL : OK);
	const r = simulate({
		ticks: 1440,
		config: C,
		world: { worker: flapping },
		agent: { ticksToFinish: 2 },
	});
	/** The first send of each op id: when each promotion / failback started. */
	const starts = (action: "promote" | "demote") =>
		r.opIds(action).map((id) => r.sent.find((c) => c.opId === id) ?? expect.fail(id));
	const firstStarts = starts("promote");

	it("fails over, fails back once, and after the next outage rests on the standby with failback held", () => {
		expect(firstStarts.map((c) => c.term)).toEqual([1, 2]);
		expect(r.opIds("demote")).toHaveLength(1);
		expect(r.ticks.every((x) => x.state.state !== "held")).toBe(true);
		expect(r.final).toMatchObject({
			state: "standby-active",
			active: "standby",
			failbackHeld: true,
		});
	});
	it("says so once, with the way out (resume or fail back by hand)", () => {
		const held = r.notified("failback-held");
		expect(held).toHaveLength(1);
		expect(held[0]?.next).toMatch(/resume the pair .* or fail back by hand/);
		expect(r.final.reason).toBe("primary flapping, failback held; resume or fail back by hand");
	});
	it("never more than maxFailoversPerHour promotions in any hour", () => {
		for (const a of firstStarts) {
			const inHour = firstStarts.filter((b) => b.t >= a.t && (b.t - a.t) * 5_000 < 3_600_000);
			expect(inHour.length).toBeLessThanOrEqual(C.maxFailoversPerHour);
		}
	});
	it("the failback waited for recoverSeconds (120 s) of continuous readiness, counted from the primary's return", () => {
		for (const d of starts("demote")) {
			// 24 ticks of 5 s: every probe in the 120 s before the failback was good.
			for (let t = d.t - 24; t <= d.t; t++) expect(flapping(t).ok, `tick ${t}`).toBe(true);
			const promotedAt = r.events.filter((e) => e.kind === "promoted" && e.t <= d.t).at(-1)?.t ?? 0;
			expect(d.t - promotedAt).toBeGreaterThanOrEqual(24);
		}
	});
});

describe("slow primary (probe timeouts)", () => {
	const slowFail: ProbeResult = { ok: false, reason: "timeout", ms: 2_500 };
	const slowOk: ProbeResult = { ok: true, status: 200, ms: 2_400 };
	it("timeouts count as failures: promote on the 3rd", () => {
		const r = simulate({
			ticks: 60,
			config: C,
			world: { worker: (t) => (t >= 5 ? slowFail : OK) },
		});
		expect(r.firstSent("promote")).toBe(7);
	});
	it("slow but within the deadline is ready: nothing happens", () => {
		const r = simulate({ ticks: 500, config: C, world: { worker: () => slowOk } });
		expect(r.sent).toEqual([]);
		expect(r.events).toEqual([]);
	});
});

describe("single-probe blips", () => {
	it.each([
		["fail, ok", [true, false]],
		["fail, fail, ok", [true, true, false]],
		["fail, ok, ok, fail, fail, ok", [true, false, false, true, true, false]],
	])(
		"%s repeated for 1000 ticks (the standby sees the same): never promotes, never notifies",
		(_n, pattern) => {
			const worker = (t: number) => ((pattern[t % pattern.length] as boolean) ? FAIL : OK);
			const r = simulate({ ticks: 1000, config: C, world: { worker } });
			expect(r.sent).toEqual([]);
			expect(r.events).toEqual([]);
			expect(r.final.state).toBe("primary-active");
		},
	);
	it.each([1, 2, 3, 4, 5, 6])(
		"failThreshold %i: exactly that many consecutive failures promote",
		(n) => {
			const c = cfg({ failThreshold: n });
			const r = simulate({ ticks: 30, config: c, world: { worker: down(10) } });
			expect(r.firstSent("promote")).toBe(10 + n - 1);
			if (n > 1) {
				// n-1 failures, one good probe, over and over: never.
				const worker = (t: number) => (t % n === n - 1 ? OK : FAIL);
				const almost = simulate({ ticks: 500, config: c, world: { worker } });
				expect(almost.sent).toEqual([]);
				expect(almost.final.state).toBe("primary-active");
			}
		},
	);
});

describe("worker-only partition (the Worker cannot see the primary, the standby can)", () => {
	const r = simulate({
		ticks: 600,
		config: C,
		world: { worker: down(10, 500), standbySees: () => "up" },
	});
	it("never promotes", () => {
		expect(r.sent).toEqual([]);
		expect(r.agent.runs.promote).toBe(0);
	});
	it("suspects a partition on the 3rd failure and says so once in 490 ticks", () => {
		expect(r.firstTick((s) => s.state === "suspect-partition")).toBe(12);
		expect(r.notified("suspect-partition")).toHaveLength(1);
		expect(r.notified("suspect-partition")[0]?.next).toMatch(/Funnel, tunnel, DNS/);
	});
	it("clears once when the path heals", () => {
		expect(r.notified("partition-cleared").map((e) => e.t)).toEqual([500]);
		expect(r.final.state).toBe("primary-active");
	});
});

describe("standby unreachable", () => {
	it("while the primary is fine: one warning, one all-clear, no state change", () => {
		const r = simulate({
			ticks: 300,
			config: C,
			world: { worker: () => OK, standbyReachable: (t) => t < 10 || t >= 200 },
		});
		expect(r.notified().map((e) => [e.kind, e.t])).toEqual([
			["standby-unreachable", 12],
			["standby-reachable", 200],
		]);
		expect(new Set(r.ticks.map((x) => x.state.state))).toEqual(new Set(["primary-active"]));
	});
	it("with the primary down: both-down, never a promote sent, then promotes the tick the standby answers", () => {
		const r = simulate({
			ticks: 200,
			config: C,
			world: { worker: down(10), standbyReachable: (t) => t < 10 || t >= 100 },
		});
		expect(r.firstTick((s) => s.state === "both-down")).toBe(12);
		expect(r.notified("both-down")).toHaveLength(1);
		expect(r.firstSent("promote")).toBe(100);
		expect(r.final.state).toBe("standby-active");
	});
});

describe("agent restart mid-promote", () => {
	it("running, then unreachable for 2 ticks: the same op id is polled again and completes", () => {
		const r = simulate({
			ticks: 60,
			config: C,
			world: { worker: down(10), standbyReachable: (t) => t < 14 || t > 15 },
			agent: { ticksToFinish: 6 },
		});
		expect(r.opIds("promote")).toEqual(["home:promote:t1:a1"]);
		expect(r.agent.runs.promote).toBe(1);
		expect(r.ticks.slice(12, 18).map((x) => x.state.state)).toEqual(Array(6).fill("promoting"));
		expect(r.firstTick((s) => s.state === "standby-active")).toBe(18);
	});
	it("unreachable for 5 ticks: both-down after 3 misses, then the same op id resumes and completes", () => {
		const r = simulate({
			ticks: 60,
			config: C,
			world: { worker: down(10), standbyReachable: (t) => t < 14 || t > 18 },
			agent: { ticksToFinish: 6 },
		});
		expect(r.firstTick((s) => s.state === "both-down")).toBe(16);
		expect(r.opIds("promote")).toEqual(["home:promote:t1:a1"]);
		expect(r.agent.runs.promote).toBe(1);
		expect(r.firstTick((s) => s.state === "standby-active")).toBe(19);
		expect(r.notified().map((e) => e.kind)).toEqual([
			"promoting",
			"both-down",
			"standby-reachable",
			"promoted",
		]);
	});
	it("the primary comes back while the agent is away: the promote is still resolved first (no forgotten op)", () => {
		const r = simulate({
			ticks: 200,
			config: C,
			world: { worker: down(10, 16), standbyReachable: (t) => t < 14 || t > 40 },
			agent: { ticksToFinish: 6 },
		});
		// Stays both-down while the op is unresolved, then completes it and fails back after hysteresis.
		expect(r.ticks.slice(16, 41).every((x) => x.state.state === "both-down")).toBe(true);
		expect(r.opIds("promote")).toEqual(["home:promote:t1:a1"]);
		expect(r.firstTick((s) => s.state === "standby-active")).toBe(41);
		expect(r.opIds("demote")).toEqual(["home:demote:t1:a1"]);
		expect(r.final.state).toBe("primary-active");
		expect(r.agent.gatewayActive).toBe(false);
	});
});

describe("replayed / forged commands (the agent refuses every one)", () => {
	const r = simulate({
		ticks: 1000,
		config: C,
		world: { worker: down(10) },
		agent: { ticksToFinish: 2, rejectAll: true },
	});
	it("retries with bounded attempts, bumping the term each time, then holds", () => {
		expect(r.opIds("promote")).toEqual([
			"home:promote:t1:a1",
			"home:promote:t2:a2",
			"home:promote:t3:a3",
		]);
		expect(r.firstTick((s) => s.state === "held")).toBe(12);
		expect(r.final.state).toBe("held");
	});
	it("the give-up is critical with a next step; nothing more is sent for 1000 ticks", () => {
		const crit = r.notified("promote-failed").filter((e) => e.severity === "critical");
		expect(crit).toHaveLength(1);
		expect(crit[0]?.next).toMatch(/resume the pair or force a promote/);
		expect(r.sent).toHaveLength(3);
	});
	it("a replayed op id never runs twice: polls of a running op return its progress", () => {
		const ok = simulate({
			ticks: 40,
			config: C,
			world: { worker: down(10) },
			agent: { ticksToFinish: 8 },
		});
		expect(ok.sent.filter((c) => c.action === "promote")).toHaveLength(9);
		expect(ok.agent.runs.promote).toBe(1);
	});
});

describe("webhook endpoint down", () => {
	// decide() has no input for delivery: notifications are data the shell delivers (and retries) on
	// its own. What decide() owes the shell is a finite, deduplicated set, whatever the outage length.
	it("a 1000-tick both-down outage yields one both-down notification, not one per tick", () => {
		const r = simulate({
			ticks: 1000,
			config: C,
			world: { worker: down(10), standbyReachable: (t) => t < 10 },
		});
		expect(r.notified().map((e) => e.kind)).toEqual(["both-down"]);
	});
});

describe("primary back during promotion", () => {
	const r = simulate({
		ticks: 1000,
		config: C,
		world: { worker: down(10, 15) },
		agent: { ticksToFinish: 5 },
	});
	it("the promotion completes (no abort half-way)", () => {
		expect(r.firstSent("promote")).toBe(12);
		expect(r.firstTick((s) => s.state === "standby-active")).toBe(17);
	});
	it("fails back once the primary has been ready 120 s (recoverSeconds) after the promotion, once; no flapping afterwards", () => {
		// Probes while promoting do not count: the run starts at tick 18, the first after promotion.
		expect(r.firstSent("demote")).toBe(18 + 24);
		expect(r.ticks[46]?.state.state).toBe("demoting");
		expect(r.ticks[47]?.state.state).toBe("primary-active");
		expect(r.opIds("promote")).toHaveLength(1);
		expect(r.opIds("demote")).toHaveLength(1);
		expect(r.final).toMatchObject({ state: "primary-active", active: "primary" });
		expect(r.agent.gatewayActive).toBe(false);
	});
});

describe("both down", () => {
	const r = simulate({
		ticks: 1100,
		config: C,
		world: { worker: down(10, 1000), standbyReachable: (t) => t < 10 },
	});
	it("alerts once (critical, with a next step) and never sends a promote to nobody", () => {
		expect(r.firstTick((s) => s.state === "both-down")).toBe(12);
		const bd = r.notified("both-down");
		expect(bd).toHaveLength(1);
		expect(bd[0]?.severity).toBe("critical");
		expect(bd[0]?.next).not.toBe("");
		expect(r.sent).toEqual([]);
	});
	it("the primary returning first ends it without a failover", () => {
		expect(r.notified("recovered").map((e) => e.t)).toEqual([1000]);
		expect(r.final.state).toBe("primary-active");
	});
});

describe("failback that keeps failing, then is resumed", () => {
	it("after giving up, the next demote gets fresh op ids and actually runs (fixed: it replayed the old failure)", () => {
		const r = simulate({
			ticks: 200,
			config: C,
			world: { worker: down(10, 20), operator: (t) => (t === 100 ? "resume" : undefined) },
			agent: { ticksToFinish: 0, fails: (action, run) => action === "demote" && run <= 3 },
		});
		const ids = r.opIds("demote");
		expect(ids.slice(0, 3)).toEqual([
			"home:demote:t1:a1",
			"home:demote:t1:a2",
			"home:demote:t1:a3",
		]);
		expect(ids[3]).toBe("home:demote:t2:a1");
		expect(r.agent.runs.demote).toBe(4);
		expect(r.final).toMatchObject({ state: "primary-active", active: "primary" });
	});
});
