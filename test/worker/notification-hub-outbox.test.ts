// The notification outbox (issue 9 §5): failed deliveries wait in the Durable Object's SQLite and are retried from later alarms.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { NotificationHub } from "../../worker/src/notification-hub";
import {
	OUTBOX_MAX_AGE_MS,
	OUTBOX_MAX_ENTRIES,
	type OutboxEntry,
	parseNotifyConfig,
} from "../../worker/src/notify";
import { nextAttemptAt } from "../../worker/src/notify/outbox";
import { Store } from "../../worker/src/store";
import type { PairEvent } from "../../worker/src/types";
import type { Watchdog } from "../../worker/src/watchdog";
import { dropAlarm, setGateway, TestClock, watchdog } from "./support/watchdog-harness";

const T0 = 1_900_000_000_000;

const critical = (over: Partial<PairEvent> = {}): PairEvent => ({
	kind: "promoting",
	severity: "critical",
	at: T0,
	from: "primary-active",
	to: "promoting",
	term: 1,
	summary: "failing over",
	evidence: [],
	next: "nothing",
	notify: true,
	...over,
});
const warning = (summary: string): PairEvent =>
	critical({ kind: "suspect-partition", severity: "warning", to: "suspect-partition", summary });

type Answer = Response | "hang";

/**
 * A hub over a real Store on a scratch object's SQLite, a fetch that answers from a script (the
 * last answer repeats), and a clock moved by hand. `settle` waits for every background delivery.
 */
function harness(sql: SqlStorage, script: Answer[]) {
	const clock = { now: T0 };
	const store = new Store(sql);
	const pending: Promise<unknown>[] = [];
	const calls: number[] = [];
	const h = new NotificationHub({
		config: parseNotifyConfig({
			NOTIFY_WEBHOOK_URL: "https://hooks.example.test/fg",
			NOTIFY_WEBHOOK_SECRET: "0123456789abcdef-secret",
		}),
		store,
		fetch: (async (_input: RequestInfo | URL, init?: RequestInit) => {
			calls.push(clock.now);
			const a = script[Math.min(calls.length - 1, script.length - 1)] as Answer;
			if (a === "hang") {
				return new Promise<Response>((_, reject) => {
					const s = init?.signal;
					s?.addEventListener("abort", () => reject(s.reason));
				});
			}
			return a.clone();
		}) as typeof fetch,
		clock: () => clock.now,
		waitUntil: (p) => pending.push(p),
		sleep: async (ms) => {
			clock.now += ms;
		},
	});
	const settle = async () => {
		while (pending.length > 0) await Promise.all(pending.splice(0));
	};
	const log = (pair = "home") => store.events(pair, 100).map((e) => e.summary);
	return { h, store, clock, calls, settle, log };
}

let scratch = 0;
function withSql<R>(fn: (sql: SqlStorage) => Promise<R>): Promise<R> {
	scratch += 1;
	return runInDurableObject(watchdog(`outbox-${scratch}`), (_i: Watchdog, state) =>
		fn(state.storage.sql),
	);
}

const ok = () => new Response("ok");
const tooMany = (seconds: number) =>
	new Response("slow down", { status: 429, headers: { "retry-after": String(seconds) } });
const down = () => new Response("bad gateway", { status: 502 });

describe("notification outbox", () => {
	it("a 429 with a retry hint longer than the in-tick cap waits in the outbox and is sent on a later alarm, not before the hint", async () => {
		await withSql(async (sql) => {
			const { h, store, clock, calls, settle, log } = harness(sql, [tooMany(120), ok()]);
			h.dispatch("home", [critical()]);
			await settle();
			expect(calls).toHaveLength(1);
			const [entry] = store.outbox.list();
			expect(entry).toMatchObject({ notifier: "webhook", attempts: 1, nextAt: T0 + 120_000 });
			expect(log()[0]).toMatch(/kept in the outbox, next try in 120 s/);

			// An alarm before the hint: nothing is sent.
			clock.now = T0 + 60_000;
			h.drain();
			await settle();
			expect(calls).toHaveLength(1);

			clock.now = T0 + 120_000;
			h.drain();
			await settle();
			expect(calls).toHaveLength(2);
			expect(store.outbox.list()).toEqual([]);
			expect(log()[0]).toMatch(/sent to webhook on attempt 2, 120 s late/);
			expect(h.status().last.webhook).toMatchObject({ ok: true, attempts: 2 });
		});
	});

	it("a 5xx (after the in-tick retries) waits, backs off, and is delivered when the endpoint is back", async () => {
		await withSql(async (sql) => {
			const { h, store, clock, calls, settle } = harness(sql, [
				down(),
				down(),
				down(),
				down(),
				ok(),
			]);
			h.dispatch("home", [critical()]);
			await settle();
			expect(calls).toHaveLength(3); // the in-tick retries
			const first = store.outbox.list()[0] as OutboxEntry;
			expect(first.lastError).toMatch(/HTTP 502/);
			clock.now = first.nextAt;
			h.drain();
			await settle();
			expect(calls).toHaveLength(4); // one attempt per drain, no in-call retries
			const second = store.outbox.list()[0] as OutboxEntry;
			expect(second.attempts).toBe(4);
			expect(second.nextAt - clock.now).toBeGreaterThanOrEqual(first.nextAt - first.createdAt);
			clock.now = second.nextAt;
			h.drain();
			await settle();
			expect(calls).toHaveLength(5);
			expect(store.outbox.list()).toEqual([]);
		});
	});

	it("a timeout is kept and retried too", async () => {
		await withSql(async (sql) => {
			const { h, store, clock, settle, log } = harness(sql, ["hang", "hang", "hang", ok()]);
			h.dispatch("home", [critical()]);
			await settle();
			expect(store.outbox.list()[0]?.lastError).toMatch(/timed out/);
			clock.now = (store.outbox.list()[0] as OutboxEntry).nextAt;
			h.drain();
			await settle();
			expect(store.outbox.list()).toEqual([]);
			expect(log()[0]).toMatch(/sent to webhook on attempt 4/);
		});
		// Three real 5 s request deadlines in the first delivery (the hub has no test hook for them).
	}, 60_000);

	it("a message past the maximum age is dropped, and the drop is recorded naming what was lost", async () => {
		await withSql(async (sql) => {
			const { h, store, clock, calls, settle, log } = harness(sql, [down()]);
			h.dispatch("home", [critical({ summary: "the primary is down" })]);
			await settle();
			const sentBefore = calls.length;
			clock.now = (store.outbox.list()[0] as OutboxEntry).createdAt + OUTBOX_MAX_AGE_MS + 1;
			h.drain();
			await settle();
			expect(calls).toHaveLength(sentBefore);
			expect(store.outbox.list()).toEqual([]);
			expect(log()[0]).toMatch(
				/notification "promoting": webhook dropped "the primary is down": not delivered within 24 h/,
			);
			expect(store.events("home", 1)[0]?.severity).toBe("warning");
		});
	});

	it("dedupe counts only delivered messages: a repeat after a refused message is sent, a repeat while one waits is folded into it", async () => {
		await withSql(async (sql) => {
			const refused = harness(sql, [new Response("bad", { status: 400 }), ok()]);
			refused.h.dispatch("home", [critical()]);
			await refused.settle();
			refused.clock.now += 60_000;
			refused.h.dispatch("home", [critical()]);
			await refused.settle();
			// Refused (not transient): never queued, and not counted as sent, so the repeat goes out.
			expect(refused.calls).toHaveLength(2);
			expect(refused.store.outbox.list()).toEqual([]);
			// Delivered now: a further repeat within the window is a repeat.
			refused.clock.now += 60_000;
			refused.h.dispatch("home", [critical()]);
			await refused.settle();
			expect(refused.calls).toHaveLength(2);
		});
		await withSql(async (sql) => {
			const { h, store, clock, calls, settle } = harness(sql, [tooMany(300), ok()]);
			h.dispatch("home", [critical()]);
			// Same event again while the first delivery is still under way, and again once it waits.
			h.dispatch("home", [critical()]);
			await settle();
			clock.now += 60_000;
			h.dispatch("home", [critical()]);
			await settle();
			expect(calls).toHaveLength(1);
			expect(store.outbox.list()).toHaveLength(1);
			expect(h.status().suppressed).toBe(2);
		});
	});

	it("the outbox is bounded: a full one drops its oldest warning first, never a critical alert for a warning", async () => {
		await withSql(async (sql) => {
			const { h, store, clock, settle, log } = harness(sql, [tooMany(3_600)]);
			h.dispatch("home", [critical({ summary: "critical 0" })]);
			await settle();
			for (let i = 1; i < OUTBOX_MAX_ENTRIES; i++) {
				clock.now += 1_000;
				h.dispatch("home", [warning(`warning ${i}`)]);
				await settle();
			}
			expect(store.outbox.list()).toHaveLength(OUTBOX_MAX_ENTRIES);
			clock.now += 1_000;
			h.dispatch("home", [critical({ summary: "critical new" })]);
			await settle();
			const kept = store.outbox.list().map((e) => e.event.summary);
			expect(kept).toHaveLength(OUTBOX_MAX_ENTRIES);
			expect(kept).toContain("critical 0");
			expect(kept).toContain("critical new");
			expect(kept).not.toContain("warning 1");
			expect(log().some((s) => /dropped "warning 1": the outbox is full/.test(s))).toBe(true);
			expect(h.status().outbox).toMatchObject({ waiting: OUTBOX_MAX_ENTRIES, critical: 2 });
		});
	}, 60_000);

	it("only when every waiting message is critical does a new one push out the oldest", async () => {
		await withSql(async (sql) => {
			const { h, store, clock, settle } = harness(sql, [tooMany(3_600)]);
			for (let i = 0; i <= OUTBOX_MAX_ENTRIES; i++) {
				clock.now += 1_000;
				h.dispatch("home", [critical({ summary: `critical ${i}`, term: i })]);
				await settle();
			}
			const kept = store.outbox.list().map((e) => e.event.summary);
			expect(kept).toHaveLength(OUTBOX_MAX_ENTRIES);
			expect(kept).not.toContain("critical 0");
			expect(kept).toContain(`critical ${OUTBOX_MAX_ENTRIES}`);
		});
	}, 60_000);

	it("survives the object: a new hub over the same SQLite retries what the old one queued", async () => {
		await withSql(async (sql) => {
			const first = harness(sql, [down()]);
			first.h.dispatch("home", [critical()]);
			await first.settle();
			const second = harness(sql, [ok()]);
			second.clock.now = (first.store.outbox.list()[0] as OutboxEntry).nextAt;
			second.h.drain();
			await second.settle();
			expect(second.calls).toHaveLength(1);
			expect(second.store.outbox.list()).toEqual([]);
		});
	});

	it("writes no outbox rows while deliveries succeed", async () => {
		await withSql(async (sql) => {
			const { h, store, settle } = harness(sql, [ok()]);
			const before = store.rowsWritten;
			h.dispatch("home", [critical()]);
			await settle();
			h.drain();
			await settle();
			// The delivery's event row, the dedupe record and the last-delivery record; nothing for the outbox.
			expect(store.rowsWritten - before).toBe(3);
		});
	});
});

describe("outbox rows written (docs/cost.md)", () => {
	it("queueing costs the outbox row plus the log and last-delivery rows; a failed retry one row; delivery four", async () => {
		await withSql(async (sql) => {
			const { h, store, clock, settle } = harness(sql, [down(), down(), down(), down(), ok()]);
			let before = store.rowsWritten;
			h.dispatch("home", [critical()]);
			await settle();
			// The notification event, the last-delivery record, the outbox row (no dedupe record: not delivered).
			expect(store.rowsWritten - before).toBe(3);
			before = store.rowsWritten;
			clock.now = (store.outbox.list()[0] as OutboxEntry).nextAt;
			h.drain();
			await settle();
			expect(store.rowsWritten - before).toBe(1);
			before = store.rowsWritten;
			clock.now = (store.outbox.list()[0] as OutboxEntry).nextAt;
			h.drain();
			await settle();
			// Outbox row deleted, dedupe record, last-delivery record, the "sent ... late" event.
			expect(store.rowsWritten - before).toBe(4);
		});
	});
});

describe("nextAttemptAt", () => {
	it("never before the provider's hint, never before the backoff, capped at 30 min without a hint", () => {
		expect(nextAttemptAt(T0, T0)).toBe(T0 + 30_000);
		expect(nextAttemptAt(T0, T0, 1_000)).toBe(T0 + 30_000);
		expect(nextAttemptAt(T0, T0, 120_000)).toBe(T0 + 120_000);
		expect(nextAttemptAt(T0 + 300_000, T0)).toBe(T0 + 600_000);
		expect(nextAttemptAt(T0 + 10 * 3_600_000, T0)).toBe(T0 + 10 * 3_600_000 + 1_800_000);
	});
});

describe("the Watchdog's alarm drains the outbox", () => {
	const stub = watchdog("g-loop-outbox");
	afterEach(() => dropAlarm(stub));

	it("retries a waiting message after the alarm's ticks, in the background", async () => {
		const clock = new TestClock();
		await setGateway("loop-outbox", "up");
		await stub.ensureAlarm("g-loop-outbox", clock.now);
		const posted: string[] = [];
		await runInDurableObject(stub, (i: Watchdog, state) => {
			const store = i["store"] as Store;
			i.deps.clock = () => clock.now;
			i["hubInstance"] = new NotificationHub({
				config: parseNotifyConfig({
					NOTIFY_WEBHOOK_URL: "https://hooks.example.test/fg",
					NOTIFY_WEBHOOK_SECRET: "0123456789abcdef-secret",
				}),
				store,
				fetch: (async (input: RequestInfo | URL) => {
					posted.push(String(input));
					return new Response("ok");
				}) as typeof fetch,
				clock: () => clock.now,
				waitUntil: (p) => state.waitUntil(p),
			});
			store.outbox.add({
				pair: "loop-outbox",
				notifier: "webhook",
				key: "k",
				event: critical(),
				createdAt: clock.now - 60_000,
				nextAt: clock.now - 1,
				attempts: 3,
				lastError: "HTTP 502",
			});
		});
		await runDurableObjectAlarm(stub);
		await runInDurableObject(stub, async (i: Watchdog) => {
			// The drain runs in waitUntil after the ticks: give it a moment to finish.
			for (let n = 0; n < 50 && (i["store"] as Store).outbox.list().length > 0; n++) {
				await new Promise((r) => setTimeout(r, 20));
			}
			expect((i["store"] as Store).outbox.list()).toEqual([]);
		});
		expect(posted).toEqual(["https://hooks.example.test/fg"]);
	});
});
