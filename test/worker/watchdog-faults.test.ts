// The alarm loop under faults: a throwing agent client, a failing setAlarm, eviction with a promote in flight.
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import type { AgentClient } from "../../worker/src/agent-client";
import type { Watchdog } from "../../worker/src/watchdog";
import { outcome, scriptedAgent, standbyUp } from "./support/pair-turn-harness";
import {
	alarmOf,
	dropAlarm,
	setGateway,
	TestClock,
	useClock,
	watchdog,
} from "./support/watchdog-harness";

const GROUP = "g-faults";
const INTERVAL = 5_000;

afterEach(async () => {
	await dropAlarm(watchdog(GROUP));
});

/** The group's object with the test clock and `agents` installed (again after an eviction). */
async function install(
	clock: TestClock,
	agents: (pair: string) => AgentClient,
): Promise<DurableObjectStub<Watchdog>> {
	const stub = watchdog(GROUP);
	await useClock(stub, clock);
	await runInDurableObject(stub, (i: Watchdog) => {
		i.deps.agents = (pair) => agents(pair.name);
	});
	return stub;
}

describe("the alarm loop under faults", () => {
	it("a pair whose agent client throws (a bug) is logged; the other pair ticks and the loop stays armed", async () => {
		const clock = new TestClock();
		clock.advance(100_000); // past any grid another test in this file left
		await setGateway("fault-a", "up");
		await setGateway("fault-b", "up");
		await watchdog(GROUP).ensureAlarm(GROUP, clock.now);
		const stub = await install(clock, (pair) => {
			if (pair === "fault-a") throw new Error("agent client bug");
			return scriptedAgent((cmd) => outcome(cmd, "succeeded"));
		});
		const t0 = clock.now;
		expect(await runDurableObjectAlarm(stub)).toBe(true);
		expect((await stub.getPair("fault-b", 5))?.observations[0]).toMatchObject({ at: t0, ok: true });
		expect((await stub.getPair("fault-a", 5))?.observations.filter((o) => o.at >= t0)).toEqual([]);
		expect(await alarmOf(stub)).toBe(t0 + INTERVAL);
	});

	it("a failing setAlarm fails the alarm before any pair ticks: nothing half done for the retry", async () => {
		const clock = new TestClock();
		clock.advance(200_000);
		await setGateway("fault-a", "up");
		await setGateway("fault-b", "up");
		await watchdog(GROUP).ensureAlarm(GROUP, clock.now);
		const stub = await install(clock, () => scriptedAgent((cmd) => outcome(cmd, "succeeded")));
		const t0 = clock.now;
		await runInDurableObject(stub, (_i: Watchdog, state) => {
			state.storage.setAlarm = async () => {
				throw new Error("storage unavailable");
			};
		});
		await expect(runDurableObjectAlarm(stub)).rejects.toThrow("storage unavailable");
		for (const name of ["fault-a", "fault-b"]) {
			const seen = (await stub.getPair(name, 5))?.observations.filter((o) => o.at >= t0);
			expect(seen).toEqual([]);
		}
		await evictDurableObject(stub); // drops the broken setAlarm
	});

	it("a promote in flight survives eviction: the next tick polls the same op id, one failover", async () => {
		const clock = new TestClock();
		clock.advance(300_000);
		await setGateway("fault-a", "not-ready");
		await setGateway("fault-b", "up");
		let result: "running" | "succeeded" = "running";
		const agent = scriptedAgent(
			(cmd) => outcome(cmd, result),
			() => standbyUp(false),
		);
		const agents = () => agent;
		await watchdog(GROUP).ensureAlarm(GROUP, clock.now);
		let stub = await install(clock, agents);
		for (let i = 0; i < 3; i++) {
			expect(await runDurableObjectAlarm(stub)).toBe(true);
			clock.advance(INTERVAL);
		}
		const promoting = await stub.getPair("fault-a", 5);
		expect(promoting).toMatchObject({ state: "promoting", term: 1 });
		expect(agent.sent.map((s) => s.cmd.opId)).toEqual(["fault-a:promote:t1:a1"]);

		await evictDurableObject(stub);
		stub = await install(clock, agents);
		expect(await runDurableObjectAlarm(stub)).toBe(true);
		expect(agent.sent.map((s) => s.cmd.opId)).toEqual([
			"fault-a:promote:t1:a1",
			"fault-a:promote:t1:a1",
		]);
		result = "succeeded";
		clock.advance(INTERVAL);
		expect(await runDurableObjectAlarm(stub)).toBe(true);
		const after = await stub.getPair("fault-a", 5);
		expect(after).toMatchObject({ state: "standby-active", term: 1 });
		expect(after?.pairState?.failovers).toHaveLength(1);
		const kinds = ((await stub.getEvents("fault-a", 20)) ?? []).map((e) => e.kind);
		expect(kinds.filter((k) => k === "promoting")).toHaveLength(1);
		expect(kinds.filter((k) => k === "promoted")).toHaveLength(1);
	});
});
