// NotificationHub: dedupe across calls (persisted), background delivery, and failures visible in status and the log.
import { describe, expect, it } from "vitest";
import { NotificationHub } from "../../worker/src/notification-hub";
import { parseNotifyConfig } from "../../worker/src/notify";
import type { PairEvent } from "../../worker/src/types";
import { MemStore } from "./support/mem-hub-store";

const ev = (over: Partial<PairEvent> = {}): PairEvent => ({
	kind: "promoting",
	severity: "critical",
	at: 1_000,
	from: "primary-active",
	to: "promoting",
	term: 1,
	summary: "failing over",
	evidence: [{ witness: "worker", saw: "probe failed: timeout" }],
	next: "nothing",
	notify: true,
	...over,
});

function hub(status: number, store = new MemStore()) {
	const posted: string[] = [];
	const pending: Promise<unknown>[] = [];
	const h = new NotificationHub({
		config: parseNotifyConfig({
			NOTIFY_WEBHOOK_URL: "https://hooks.example.test/fg",
			NOTIFY_WEBHOOK_SECRET: "0123456789abcdef-secret",
		}),
		store,
		fetch: (async (input: RequestInfo | URL) => {
			posted.push(String(input instanceof Request ? input.url : input));
			return new Response(status === 200 ? "ok" : "down", { status });
		}) as typeof fetch,
		clock: () => 2_000,
		waitUntil: (p) => pending.push(p),
		sleep: async () => {},
	});
	return { h, store, posted, settle: () => Promise.all(pending) };
}

describe("NotificationHub", () => {
	it("sends a notifiable event once and logs the delivery", async () => {
		const { h, store, posted, settle } = hub(200);
		h.dispatch("home", [ev(), ev({ kind: "term-adopted", notify: false })]);
		await settle();
		expect(posted).toEqual(["https://hooks.example.test/fg"]);
		expect(store.log.map((l) => l.event.summary)).toEqual([
			'notification "promoting": sent to webhook',
		]);
		const s = h.status();
		expect(s.notifiers).toEqual(["webhook"]);
		expect(s.last.webhook).toMatchObject({ ok: true, attempts: 1, kind: "promoting" });
		expect(s.sent).toBe(1);
	});

	it("suppresses a repeat of the same event, also in a new hub over the same store", async () => {
		const first = hub(200);
		first.h.dispatch("home", [ev()]);
		await first.settle();
		const second = hub(200, first.store);
		second.h.dispatch("home", [ev({ at: 5_000 })]);
		await second.settle();
		expect(second.posted).toEqual([]);
		expect(second.h.status().suppressed).toBe(1);
	});

	it("records a failing endpoint in status and the event log, without throwing", async () => {
		const { h, store, settle } = hub(500);
		h.dispatch("home", [ev()]);
		await settle();
		const entry = store.log[0]?.event;
		expect(entry?.severity).toBe("warning");
		expect(entry?.summary).toMatch(/webhook failed after 3 attempt\(s\)/);
		expect(entry?.summary).not.toContain("hooks.example.test/fg");
		expect(h.status().last.webhook).toMatchObject({ ok: false, attempts: 3 });
	});

	it("does nothing without notifiers, and reports config errors by variable", () => {
		const store = new MemStore();
		const h = new NotificationHub({
			config: parseNotifyConfig({ NOTIFY_DISCORD_URL: "not a url" }),
			store,
			fetch: (() => {
				throw new Error("must not be called");
			}) as unknown as typeof fetch,
			clock: () => 0,
			waitUntil: () => {},
		});
		h.dispatch("home", [ev()]);
		expect(store.log).toEqual([]);
		expect(h.status().configErrors[0]).toMatch(/^NOTIFY_DISCORD_URL/);
	});
});
