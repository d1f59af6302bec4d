// decide(): a standby gateway running while the primary is the active side is announced once, never acted on.
import { describe, expect, it } from "vitest";
import { decide } from "../../worker/src/decide";
import type { Decision, PairState } from "../../worker/src/types";
import { cfg, NOW, OK, pending, sbUp, st, tick } from "./support/decide-fixtures";
import { PA } from "./support/decide-states";

function ticks(from: PairState, views: boolean[]): Decision[] {
	const out: Decision[] = [];
	let s = from;
	views.forEach((gatewayActive, i) => {
		const d = decide(s, tick(OK, sbUp(1, gatewayActive)), cfg(), NOW + i * 5_000);
		out.push(d);
		s = d.state;
	});
	return out;
}

describe("standby gateway running while the primary is active", () => {
	it("warns once, with a next step, and changes nothing else", () => {
		const ds = ticks(st(PA), [true, true, true]);
		const events = ds.flatMap((d) => d.events);
		expect(events.map((e) => e.kind)).toEqual(["standby-serving"]);
		expect(events[0]).toMatchObject({ severity: "warning", notify: true });
		expect(events[0]?.next).toContain("failover-agent call");
		expect(ds.every((d) => d.commands.length === 0)).toBe(true);
		expect(ds.at(-1)?.state.state).toBe("primary-active");
	});

	it("warns again after the standby's gateway stopped and came back", () => {
		const ds = ticks(st(PA), [true, false, true]);
		expect(ds.flatMap((d) => d.events).map((e) => e.kind)).toEqual([
			"standby-serving",
			"standby-serving",
		]);
	});

	it("says nothing while a command is in flight (a sync after failback, a drill)", () => {
		const ds = ticks(st({ ...PA, pending: pending("sync", 1) }), [true, true]);
		expect(ds.flatMap((d) => d.events).map((e) => e.kind)).toEqual([]);
	});
});
