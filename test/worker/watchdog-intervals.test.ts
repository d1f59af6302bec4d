// A group whose pairs have different intervals: each pair ticks under its own deadline, none holds another up.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import type { Watchdog } from "../../worker/src/watchdog";
import {
	alarmOf,
	dropAlarm,
	gatewayHits,
	setGateway,
	TestClock,
	useClock,
	watchdog,
} from "./support/watchdog-harness";

const GROUP = "g-mix-interval";

afterEach(async () => {
	await dropAlarm(watchdog(GROUP));
});

/** Waits for the ticks still running in the object (those an alarm did not wait for). */
function settle(stub: DurableObjectStub<Watchdog>): Promise<void> {
	return runInDurableObject(stub, async (i: Watchdog) => {
		const running = i["running"] as Map<string, { done: Promise<void> }>;
		await Promise.all([...running.values()].map((r) => r.done));
	});
}

describe("pairs of different intervals in one group", () => {
	it("the 5 s pair keeps its own 2.5 s probe timeout next to a 1 s pair, without delaying it", async () => {
		const clock = new TestClock();
		await setGateway("mix-fast", "up");
		// Slower than the 1 s pair's whole tick, well inside the 5 s pair's own probe timeout.
		await setGateway("mix-slow", "slow", { delayMs: 2_000 });
		const stub = watchdog(GROUP);
		await stub.ensureAlarm(GROUP, clock.now);
		await useClock(stub, clock);
		const t0 = clock.now;

		expect(await runDurableObjectAlarm(stub)).toBe(true);
		// The alarm ended with the 1 s pair's tick: the 5 s pair's probe is still waiting for its answer.
		expect((await stub.getPair("mix-fast", 5))?.observations).toHaveLength(1);
		expect((await stub.getPair("mix-slow", 5))?.observations).toHaveLength(0);
		expect(await alarmOf(stub)).toBe(t0 + 1_000);

		// The 1 s pair's next tick runs on time; the 5 s pair, still busy, is not ticked a second time.
		clock.advance(1_000);
		expect(await runDurableObjectAlarm(stub)).toBe(true);
		await settle(stub);
		expect((await stub.getPair("mix-fast", 5))?.observations.map((o) => o.at)).toEqual([
			t0 + 1_000,
			t0,
		]);
		const slow = (await stub.getPair("mix-slow", 5))?.observations ?? [];
		expect(slow).toHaveLength(1);
		expect(slow[0]).toMatchObject({ at: t0, ok: true, status: 200 });
		expect(await gatewayHits("mix-slow")).toBe(1);
		expect(await alarmOf(stub)).toBe(t0 + 2_000);
	});

	it("a pair whose tick has ended is due again on its own grid", async () => {
		const clock = new TestClock();
		// The object is shared with the test above: start well past the grid it left.
		clock.advance(60_000);
		await setGateway("mix-fast", "up");
		await setGateway("mix-slow", "up");
		const stub = watchdog(GROUP);
		await stub.ensureAlarm(GROUP, clock.now);
		await useClock(stub, clock);
		const t0 = clock.now;
		for (let i = 0; i <= 5; i++) {
			expect(await runDurableObjectAlarm(stub)).toBe(true);
			await settle(stub);
			clock.advance(1_000);
		}
		const since = async (name: string) =>
			((await stub.getPair(name, 20))?.observations ?? [])
				.filter((o) => o.at >= t0)
				.map((o) => o.at);
		expect(await since("mix-fast")).toHaveLength(6);
		expect(await since("mix-slow")).toEqual([t0 + 5_000, t0]);
	});
});
