// NotificationHub dedupe and the last word: a critical alert that comes back after another event is sent again.
import { describe, expect, it } from "vitest";
import { NotificationHub } from "../../worker/src/notification-hub";
import { parseNotifyConfig } from "../../worker/src/notify";
import type { PairEvent } from "../../worker/src/types";
import { MemStore } from "./support/mem-hub-store";

const bothDown: PairEvent = {
	kind: "both-down",
	severity: "critical",
	at: 0,
	from: "primary-active",
	to: "both-down",
	term: 0,
	summary: "the primary is failing and the standby agent cannot be reached: nothing can take over",
	evidence: [],
	next: "Check both VPSes.",
	notify: true,
};
const recovered: PairEvent = {
	...bothDown,
	kind: "recovered",
	severity: "info",
	from: "both-down",
	to: "primary-active",
	summary: "the primary is ready again; no failover was needed",
	next: "",
};
const suspect: PairEvent = {
	...bothDown,
	kind: "suspect-partition",
	severity: "warning",
	to: "suspect-partition",
	summary: "the Worker cannot reach the primary but another witness can: suspected partition",
};
const cleared: PairEvent = {
	...suspect,
	kind: "partition-cleared",
	severity: "info",
	summary: "ok",
};

function hub(store = new MemStore()) {
	const clock = { now: 1_000_000 };
	const sent: string[] = [];
	const pending: Promise<unknown>[] = [];
	const h = new NotificationHub({
		config: parseNotifyConfig({
			NOTIFY_WEBHOOK_URL: "https://hooks.example.test/fg",
			NOTIFY_WEBHOOK_SECRET: "0123456789abcdef-secret",
		}),
		store,
		fetch: (async (_input: RequestInfo | URL, init?: RequestInit) => {
			sent.push((JSON.parse(String(init?.body)) as { event: { kind: string } }).event.kind);
			return new Response("ok");
		}) as typeof fetch,
		clock: () => clock.now,
		waitUntil: (p) => pending.push(p),
		sleep: async () => {},
	});
	return { h, clock, sent, settle: () => Promise.all(pending) };
}

// Each dispatch is settled before the next: dedupe counts deliveries, and a repeat while the first
// delivery is still under way is folded into it (notification-hub-outbox.test.ts).
describe("NotificationHub: repeats", () => {
	it("a critical alert back after another event of the pair is sent again within the window", async () => {
		const { h, clock, sent, settle } = hub();
		h.dispatch("home", [bothDown]);
		await settle();
		clock.now += 60_000;
		h.dispatch("home", [recovered]);
		await settle();
		clock.now += 60_000;
		// Swallowing this would leave "recovered" as the last word while nothing can take over.
		h.dispatch("home", [bothDown]);
		await settle();
		await settle();
		expect(sent).toEqual(["both-down", "recovered", "both-down"]);
	});

	it("a straight repeat is still suppressed, and another pair's events change nothing", async () => {
		const { h, clock, sent, settle } = hub();
		h.dispatch("home", [bothDown]);
		await settle();
		clock.now += 60_000;
		h.dispatch("office", [recovered]);
		await settle();
		clock.now += 60_000;
		h.dispatch("home", [bothDown]);
		await settle();
		await settle();
		expect(sent).toEqual(["both-down", "recovered"]);
		expect(h.status().suppressed).toBe(1);
	});

	it("warnings keep the 10-minute window, so a flapping partition does not flood", async () => {
		const { h, clock, sent, settle } = hub();
		for (let i = 0; i < 3; i++) {
			h.dispatch("home", [suspect]);
			await settle();
			clock.now += 30_000;
			h.dispatch("home", [cleared]);
			await settle();
			clock.now += 30_000;
		}
		await settle();
		expect(sent).toEqual(["suspect-partition", "partition-cleared"]);
	});
});
