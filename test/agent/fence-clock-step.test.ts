// The fence while its wall clock steps: it counts on the monotonic clock, so a step back cannot delay the stop past the watchdog's wait.
import { describe, expect, it } from "vitest";
import { Fence, type HeldLease } from "../../agent/src/fencing";
import { silentLogger } from "../../agent/src/log";

const T = 1_800_000_000_000;

/** A fence with a wall clock and a monotonic clock the test moves apart; the standby never answers. */
function cutOff(heldSince?: HeldLease | null) {
	const clock = { wall: T, mono: 5_000 };
	const stops: number[] = [];
	const f = new Fence({
		mode: "self",
		side: "primary",
		now: () => clock.wall,
		elapsed: () => clock.mono,
		...(heldSince !== undefined ? { heldSince } : {}),
		standbyReachable: async () => false,
		stopGateway: async () => {
			stops.push(clock.mono);
			return { ok: true, detail: "" };
		},
		startGateway: async () => ({ ok: true, detail: "" }),
		log: silentLogger,
	});
	/** Lets `ms` of real time pass, checking every second as the timer does. */
	const pass = async (ms: number) => {
		for (let i = 0; i < ms / 1000; i++) {
			clock.wall += 1000;
			clock.mono += 1000;
			await f.check();
		}
	};
	return { f, clock, stops, pass };
}

describe("a wall clock step while cut off", () => {
	it.each([
		["no step", 0],
		["a 1 s step back", -1_000],
		["a 60 s step back (NTP after a suspended VM)", -60_000],
		["an hour back", -3_600_000],
		["60 s forward", 60_000],
	])(
		"%s 10 s after a 30 s lease: the gateway stops 30 s after that lease arrived, real time",
		async (_, step) => {
			const t = cutOff();
			const arrivedMono = t.clock.mono;
			t.f.noteLease({ active: "primary", leaseSeconds: 30 }, t.clock.wall);
			await t.pass(10_000);
			t.clock.wall += step;
			// The old fence counted on the wall clock: a step back delayed its stop by the step, while
			// the watchdog, on its own clock, promoted the standby after 30 s plus its margin.
			await t.pass(20_000);
			expect(t.stops).toEqual([arrivedMono + 30_000]);
		},
		10_000,
	);

	it("after a restart, a step back counts from the recorded lease all the same", async () => {
		// Recorded 10 s before this start, a 30 s lease: 20 s of it left.
		const t = cutOff({ arrivedAt: T - 10_000, leaseSeconds: 30 });
		const startMono = t.clock.mono;
		await t.pass(5_000);
		t.clock.wall -= 120_000;
		await t.pass(15_000);
		expect(t.stops).toEqual([startMono + 20_000]);
	}, 10_000);

	it("leaseRunsOutAt reads on the wall clock of now", async () => {
		const t = cutOff();
		t.f.noteLease({ active: "primary", leaseSeconds: 30 }, t.clock.wall);
		t.clock.mono += 10_000;
		t.clock.wall -= 50_000; // stepped back 60 s during those 10 s
		expect(t.f.leaseRunsOutAt()).toBe(t.clock.wall + 20_000);
	});
});
