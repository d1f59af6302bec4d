import {
	createExecutionContext,
	createScheduledController,
	runInDurableObject,
	waitOnExecutionContext,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import worker from "../../worker/src/index";
import { runBackstop } from "../../worker/src/scheduled";
import { BACKSTOP_ALARM_DELAY_MS, type Watchdog } from "../../worker/src/watchdog";
import { alarmOf, dropAlarm, watchdog } from "./support/watchdog-harness";

const INTERVAL = 5_000;
// Far enough ahead that alarms set from it never fire by themselves during the test.
const future = () => Date.now() + 3_600_000;

const config = JSON.parse(env.WATCHDOG_CONFIG) as { groups: { name: string }[] };
const allGroups = config.groups.map((g) => g.name);

afterEach(async () => {
	for (const g of allGroups) await dropAlarm(watchdog(g));
});

function heartbeat(group: string): Promise<string | undefined> {
	return runInDurableObject(watchdog(group), (i: Watchdog) => i["store"].getMeta("heartbeat"));
}

describe("the cron backstop", () => {
	it("the scheduled handler arms a missing alarm, strictly after now, and records a heartbeat", async () => {
		const now = future();
		expect(await alarmOf(watchdog("g-cron-missing"))).toBeNull();
		const ctx = createExecutionContext();
		await worker.scheduled(createScheduledController({ scheduledTime: now }), env, ctx);
		await waitOnExecutionContext(ctx);
		const alarm = await alarmOf(watchdog("g-cron-missing"));
		expect(alarm).toBe(now + BACKSTOP_ALARM_DELAY_MS);
		expect(alarm).toBeGreaterThan(now);
		expect(await heartbeat("g-cron-missing")).toBe(String(now));
		// Every group with a valid pair is armed, including one that also holds a bad pair.
		expect(await alarmOf(watchdog("g-mixed"))).toBe(now + BACKSTOP_ALARM_DELAY_MS);
	});

	it("re-arms an alarm more than two intervals overdue", async () => {
		const now = future();
		const stub = watchdog("g-cron-stale");
		await runInDurableObject(stub, (_i: Watchdog, s) => s.storage.setAlarm(now - 2 * INTERVAL - 1));
		const results = await runBackstop(env, now);
		expect(results.find((r) => r.group === "g-cron-stale")).toMatchObject({
			ok: true,
			rearmed: "stale",
			alarmAt: now + BACKSTOP_ALARM_DELAY_MS,
		});
		expect(await alarmOf(stub)).toBe(now + BACKSTOP_ALARM_DELAY_MS);
	});

	it("leaves a live alarm alone (repeated crons do not disturb the loop)", async () => {
		const now = future();
		const stub = watchdog("g-cron-fresh");
		await runInDurableObject(stub, (_i: Watchdog, s) => s.storage.setAlarm(now + 2_000));
		const first = await runBackstop(env, now);
		const second = await runBackstop(env, now + 1_000);
		for (const r of [first, second]) {
			expect(r.find((x) => x.group === "g-cron-fresh")).toMatchObject({ ok: true, rearmed: null });
		}
		expect(await alarmOf(stub)).toBe(now + 2_000);
		// An alarm that is only a little overdue (the loop is running late, not stopped) is kept too.
		await runInDurableObject(stub, (_i: Watchdog, s) => s.storage.setAlarm(now - INTERVAL));
		await runBackstop(env, now);
		expect(await alarmOf(stub)).toBe(now - INTERVAL);
	});

	it("brings in an alarm set too far ahead", async () => {
		const now = future();
		const stub = watchdog("g-cron-far");
		await runInDurableObject(stub, (_i: Watchdog, s) => s.storage.setAlarm(now + 10 * INTERVAL));
		const results = await runBackstop(env, now);
		expect(results.find((r) => r.group === "g-cron-far")).toMatchObject({ rearmed: "too-far" });
		expect(await alarmOf(stub)).toBe(now + BACKSTOP_ALARM_DELAY_MS);
	});
});
