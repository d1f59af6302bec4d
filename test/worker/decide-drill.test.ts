// decide() on the failover drill: promote, standby ready, demote at once, timings reported; and how it fails.
import { describe, expect, it } from "vitest";
import { decide } from "../../worker/src/decide";
import type { Decision, Observation, PairState } from "../../worker/src/types";
import {
	cfg,
	cmd,
	FAIL,
	NOW,
	OK,
	op,
	outcome,
	run,
	sbUp,
	st,
	tick,
} from "./support/decide-fixtures";
import { PA } from "./support/decide-states";

/** Feeds observations at the given times, returning every decision. */
function play(from: PairState, steps: [number, Observation][], config = cfg()): Decision[] {
	const out: Decision[] = [];
	let s = from;
	for (const [at, obs] of steps) {
		const d = decide(s, obs, config, at);
		out.push(d);
		s = d.state;
	}
	return out;
}

describe("drill", () => {
	it("promotes, fails back as soon as the standby is ready, and reports the timings", () => {
		const ds = play(st(PA), [
			[NOW, op("drill")],
			[NOW + 5_000, tick(OK, sbUp(2))],
			[NOW + 7_000, outcome("promote", 2, 1, "succeeded")],
			[NOW + 10_000, tick(OK, sbUp(2))],
			[NOW + 12_500, outcome("demote", 2, 1, "succeeded")],
		]);
		const last = ds.at(-1)?.state as PairState;
		expect(ds[0]?.commands).toEqual([cmd("promote", 2)]);
		expect(ds[2]?.state.state).toBe("demoting");
		expect(ds[2]?.commands).toEqual([cmd("demote", 2)]);
		expect(last.state).toBe("primary-active");
		expect(last.active).toBe("primary");
		expect(last.drill).toBeNull();
		expect(last.lastDrill).toMatchObject({
			startedAt: NOW,
			promotedAt: NOW + 7_000,
			finishedAt: NOW + 12_500,
			ok: true,
			outcome: "drill passed: promote 7.0 s, demote 5.5 s, total 13 s",
		});
		// A drill is not a failure: flap damping does not count it.
		expect(last.failovers).toEqual([]);
		const drillEvents = ds.flatMap((d) => d.events).filter((e) => e.kind === "drill");
		expect(drillEvents.map((e) => e.notify)).toEqual([true, true]);
		// No "promoted" alarm for a drill: the standby was never meant to serve.
		expect(ds.flatMap((d) => d.events).map((e) => e.kind)).not.toContain("promoted");
	});

	it("becomes a real failover when the primary fails during the drill", () => {
		const ds = play(st(PA), [
			[NOW, op("drill")],
			[NOW + 5_000, tick(FAIL, sbUp(2))],
			[NOW + 7_000, outcome("promote", 2, 1, "succeeded")],
		]);
		const last = ds.at(-1)?.state as PairState;
		expect(last.state).toBe("standby-active");
		expect(last.active).toBe("standby");
		expect(ds.at(-1)?.commands).toEqual([]);
		expect(last.lastDrill).toMatchObject({ ok: false });
		expect(last.lastDrill?.outcome).toContain("primary started failing");
		expect(ds.at(-1)?.events.map((e) => e.kind)).toEqual(["drill", "promoted"]);
	});

	it("fails and holds when the promote keeps failing", () => {
		const config = cfg({ commandAttempts: 1 });
		const ds = play(
			st(PA),
			[
				[NOW, op("drill")],
				[NOW + 3_000, outcome("promote", 2, 1, "failed", "step git-pull failed")],
			],
			config,
		);
		const last = ds.at(-1)?.state as PairState;
		expect(last.state).toBe("held");
		expect(last.drill).toBeNull();
		expect(last.lastDrill).toMatchObject({
			ok: false,
			outcome: "drill failed: the promote failed 1 times",
		});
	});

	it("reports a drill that could not send its command", () => {
		const ds = play(st(PA), [
			[NOW, op("drill")],
			[NOW + 1, outcome("promote", 2, 1, "unsupported", "no agent client yet: would promote")],
		]);
		expect(ds.at(-1)?.state.lastDrill?.outcome).toBe("drill failed: the promote could not be sent");
	});

	it("is refused while the primary is failing, or mid-drill", () => {
		expect(run(st({ ...PA, fails: 1 }), op("drill")).refused).toMatch(/primary is failing/);
		const started = run(st(PA), op("drill")).state;
		expect(run(started, op("drill")).refused).toMatch(/this pair is promoting/);
	});
});
