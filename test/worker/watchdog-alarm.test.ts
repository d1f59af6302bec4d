import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import type { PairDetail } from "../../worker/src/pair-view";
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

const INTERVAL = 5_000;
const used: DurableObjectStub<Watchdog>[] = [];

afterEach(async () => {
	for (const stub of used.splice(0)) await dropAlarm(stub);
});

/** A group's object with the test clock installed and its loop started by the backstop. */
async function start(group: string, clock: TestClock): Promise<DurableObjectStub<Watchdog>> {
	const stub = watchdog(group);
	used.push(stub);
	await stub.ensureAlarm(group, clock.now);
	await useClock(stub, clock);
	return stub;
}

async function pair(stub: DurableObjectStub<Watchdog>, name: string): Promise<PairDetail> {
	const p = await stub.getPair(name, 50);
	if (!p) throw new Error(`no pair ${name}`);
	return p;
}

async function tick(stub: DurableObjectStub<Watchdog>): Promise<void> {
	expect(await runDurableObjectAlarm(stub)).toBe(true);
}

function rowsWritten(stub: DurableObjectStub<Watchdog>): Promise<number> {
	// The store is private; tests read its counter through the instance.
	return runInDurableObject(stub, (i: Watchdog) => i["store"].rowsWritten);
}

describe("the alarm loop", () => {
	it("probes, records one observation, and re-arms on a fixed grid", async () => {
		const clock = new TestClock();
		await setGateway("loop-grid", "up");
		const stub = await start("g-loop-grid", clock);
		const t0 = clock.now;

		await tick(stub);
		let p = await pair(stub, "loop-grid");
		expect(p.state).toBe("primary-active");
		expect(p.observations).toHaveLength(1);
		expect(p.observations[0]).toMatchObject({ at: t0, ok: true, status: 200, reason: null });
		expect(await alarmOf(stub)).toBe(t0 + INTERVAL);

		// Delivered 40 ms late: the tick keeps its slot, so the loop does not drift.
		clock.advance(INTERVAL + 40);
		await tick(stub);
		p = await pair(stub, "loop-grid");
		expect(p.observations.map((o) => o.at)).toEqual([t0 + INTERVAL, t0]);
		expect(p.nextTickAt).toBe(t0 + 2 * INTERVAL);
		expect(await alarmOf(stub)).toBe(t0 + 2 * INTERVAL);
	});

	it("does not tick a pair twice when an alarm is delivered again within the interval", async () => {
		const clock = new TestClock();
		await setGateway("loop-dup", "up");
		const stub = await start("g-loop-dup", clock);
		await tick(stub);
		const before = (await pair(stub, "loop-dup")).observations.length;
		const hits = await gatewayHits("loop-dup");

		clock.advance(1_000);
		await tick(stub); // the retried / duplicate delivery
		expect((await pair(stub, "loop-dup")).observations).toHaveLength(before);
		expect(await gatewayHits("loop-dup")).toBe(hits);
		// Still armed for the pair's next slot.
		expect(await alarmOf(stub)).toBe(clock.now - 1_000 + INTERVAL);
	});

	it("writes one row per steady tick: the state row is not rewritten when only counters move", async () => {
		const clock = new TestClock();
		await setGateway("loop-rows", "up");
		const stub = await start("g-loop-rows", clock);
		await tick(stub);
		clock.advance(INTERVAL);
		await tick(stub); // settles reason/counters after the first tick
		for (let i = 0; i < 3; i++) {
			const before = await rowsWritten(stub);
			clock.advance(INTERVAL);
			await tick(stub);
			expect((await rowsWritten(stub)) - before).toBe(1);
		}
	});

	it("after failThreshold failed ticks moves on as decide() says, and logs the honest outcome", async () => {
		const clock = new TestClock();
		await setGateway("loop-fail", "not-ready");
		const stub = await start("g-loop-fail", clock);

		await tick(stub);
		clock.advance(INTERVAL);
		await tick(stub);
		let p = await pair(stub, "loop-fail");
		expect(p.state).toBe("primary-active");
		expect(p.counts?.fails).toBe(2);
		expect((await stub.getEvents("loop-fail", 10)) ?? []).toHaveLength(0);

		clock.advance(INTERVAL);
		await tick(stub);
		p = await pair(stub, "loop-fail");
		expect(p.observations).toHaveLength(3);
		for (const o of p.observations)
			expect(o).toMatchObject({ ok: false, reason: "http-status", status: 503 });
		// Promoting needs an agent; with none, decide() holds the pair and says what it would have done.
		expect(p.state).toBe("held");
		expect(p.term).toBe(1);
		expect(p.reason).toContain("no agent client yet: would promote");
		const events = (await stub.getEvents("loop-fail", 10)) ?? [];
		expect(events.map((e) => e.kind)).toEqual(["promote-failed", "promoting"]);
		expect(events[0]?.summary).toContain("no agent client yet: would promote (term 1");
		expect(events[0]?.summary).toContain("nothing was sent");
		expect(events[0]?.evidence[0]).toMatchObject({ witness: "agent" });
		// No notifier is configured in these tests: nothing was sent, and status says which are on.
		expect(p.notifications.notifiers).toEqual([]);
		expect(p.notifications.sent).toBe(0);

		// Held: observations go on, the state stays until an operator acts.
		clock.advance(INTERVAL);
		await tick(stub);
		p = await pair(stub, "loop-fail");
		expect(p.observations).toHaveLength(4);
		expect(p.state).toBe("held");
	});

	it("keeps state, history and counters across eviction of the Durable Object", async () => {
		const clock = new TestClock();
		await setGateway("loop-counters", "not-ready");
		let stub = await start("g-loop-counters", clock);
		await tick(stub);
		clock.advance(INTERVAL);
		await tick(stub);
		expect((await pair(stub, "loop-counters")).counts?.fails).toBe(2);

		await evictDurableObject(stub);
		stub = watchdog("g-loop-counters");
		const after = await pair(stub, "loop-counters");
		expect(after.state).toBe("primary-active");
		expect(after.counts?.fails).toBe(2); // carried in the last observation row, not the state row
		expect(after.observations).toHaveLength(2);
		expect(after.lastTickAt).toBe(clock.now);

		// The third failure after the restart is the third in a row.
		await useClock(stub, clock);
		clock.advance(INTERVAL);
		await tick(stub);
		expect((await pair(stub, "loop-counters")).state).toBe("held");
	});

	it("keeps a held pair and its event log across eviction", async () => {
		const clock = new TestClock();
		await setGateway("loop-evict", "reset");
		let stub = await start("g-loop-evict", clock);
		for (let i = 0; i < 3; i++) {
			await tick(stub);
			clock.advance(INTERVAL);
		}
		const before = await pair(stub, "loop-evict");
		const eventsBefore = await stub.getEvents("loop-evict", 10);
		expect(before.state).toBe("held");
		expect(before.observations[0]).toMatchObject({ ok: false, reason: "connect-error" });

		await evictDurableObject(stub);
		stub = watchdog("g-loop-evict");
		const after = await pair(stub, "loop-evict");
		expect(after.pairState).toEqual(before.pairState);
		expect(after.observations).toEqual(before.observations);
		const eventsAfter = await stub.getEvents("loop-evict", 10);
		expect(eventsAfter).toEqual(eventsBefore);
		expect(eventsAfter?.map((e) => e.kind)).toEqual(["promote-failed", "promoting"]);
	});

	it("applies operator commands through decide() and refuses those that do not apply", async () => {
		const clock = new TestClock();
		await setGateway("loop-operator", "up");
		const stub = await start("g-loop-operator", clock);
		await tick(stub);

		const paused = await stub.operator("loop-operator", "pause");
		expect(paused).toMatchObject({ ok: true, state: { state: "paused" } });
		const again = await stub.operator("loop-operator", "pause");
		expect(again).toMatchObject({ ok: true, refused: "the pair is already paused" });
		// A paused pair still records what it sees.
		await setGateway("loop-operator", "not-ready");
		for (let i = 0; i < 4; i++) {
			clock.advance(INTERVAL);
			await tick(stub);
		}
		expect((await pair(stub, "loop-operator")).state).toBe("paused");
		const resumed = await stub.operator("loop-operator", "resume");
		expect(resumed).toMatchObject({ ok: true, state: { state: "primary-active" } });

		const forced = await stub.operator("loop-operator", "promote");
		expect(forced.ok).toBe(true);
		if (!forced.ok) return;
		expect(forced.commands).toEqual([
			expect.objectContaining({ action: "promote", result: "unsupported" }),
		]);
		expect(forced.commands[0]?.detail).toContain("no agent client yet: would promote");
		expect(forced.state.state).toBe("held");
		expect(await stub.operator("nope", "pause")).toMatchObject({ ok: false, code: "unknown-pair" });
	});
});

describe("the Tailscale witness in the tick", () => {
	async function tailnet(stub: DurableObjectStub<Watchdog>, connected: boolean | undefined) {
		await runInDurableObject(stub, (i: Watchdog) => {
			i.deps.tailscale =
				connected === undefined ? undefined : { view: async () => ({ connected }) };
		});
	}

	it("a worker-only partition (Tailscale sees the primary) is suspected, never a failover", async () => {
		const clock = new TestClock();
		await setGateway("loop-partition", "reset");
		const stub = await start("g-loop-partition", clock);
		await tailnet(stub, true);
		for (let i = 0; i < 6; i++) {
			await tick(stub);
			clock.advance(INTERVAL);
		}
		const p = await pair(stub, "loop-partition");
		expect(p.state).toBe("suspect-partition");
		expect(p.term).toBe(0);
		expect(p.witnesses.tailscale.summary).toContain("connected to the Tailscale control plane");
		const kinds = ((await stub.getEvents("loop-partition", 10)) ?? []).map((e) => e.kind);
		expect(kinds).toEqual(["suspect-partition"]); // announced once, not every tick
	});

	it("fails over when Tailscale agrees the primary is gone (held here: no agent client yet)", async () => {
		const clock = new TestClock();
		await setGateway("loop-tailnet-down", "reset");
		const stub = await start("g-loop-tailnet-down", clock);
		await tailnet(stub, false);
		for (let i = 0; i < 3; i++) {
			await tick(stub);
			clock.advance(INTERVAL);
		}
		const p = await pair(stub, "loop-tailnet-down");
		expect(p.state).toBe("held");
		expect(((await stub.getEvents("loop-tailnet-down", 10)) ?? []).map((e) => e.kind)).toEqual([
			"promote-failed",
			"promoting",
		]);
	});

	it("a configured witness without credentials counts as unknown: no failover on the probe's connection failures alone", async () => {
		const clock = new TestClock();
		// A reset connection could be the path as well as the gateway (a 503 would prove the path works
		// and promote: decide-votes.test.ts).
		await setGateway("loop-tailnet-nocreds", "reset");
		const stub = await start("g-loop-tailnet-nocreds", clock);
		await tailnet(stub, undefined);
		for (let i = 0; i < 4; i++) {
			await tick(stub);
			clock.advance(INTERVAL);
		}
		const p = await pair(stub, "loop-tailnet-nocreds");
		expect(p.state).toBe("suspect-partition");
		expect(p.witnesses.tailscale.summary).toContain("wrangler secret put TAILSCALE_API_KEY");
	});
});

describe("a group of pairs", () => {
	it("ticks every pair; a slow pair times out on its own deadline without stopping the other", async () => {
		const clock = new TestClock();
		await setGateway("multi-fast", "up");
		await setGateway("multi-slow", "slow", { delayMs: 20_000 });
		const stub = await start("g-multi", clock);
		await tick(stub);
		const fast = await pair(stub, "multi-fast");
		const slow = await pair(stub, "multi-slow");
		expect(fast.observations[0]).toMatchObject({ at: clock.now, ok: true });
		expect(slow.observations[0]).toMatchObject({ at: clock.now, ok: false, reason: "timeout" });
		expect(slow.observations[0]?.detail).toContain("1000 ms");
	});

	it("skips a pair with a config error, reports it, and still ticks the good one", async () => {
		const clock = new TestClock();
		await setGateway("mixed-good", "up");
		const stub = await start("g-mixed", clock);
		await tick(stub);
		const pairs = await stub.getPairs("g-mixed");
		const good = pairs.find((p) => p.name === "mixed-good");
		const broken = pairs.find((p) => p.name === "mixed-broken");
		expect(good).toMatchObject({ watched: true, state: "primary-active", lastTickAt: clock.now });
		expect(broken).toMatchObject({ watched: false, state: null, lastTickAt: null });
		expect(broken?.configErrors).toEqual([
			{
				path: expect.stringMatching(/^pairs\[\d+\]\.failThreshold$/),
				message: expect.stringContaining("expected"),
			},
		]);
	});
});
