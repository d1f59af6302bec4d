import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { initialState } from "../../worker/src/decide";
import { EVENT_RING, OBSERVATION_RING, Store } from "../../worker/src/store";
import type { PairEvent, PairState, ProbeResult } from "../../worker/src/types";
import type { Watchdog } from "../../worker/src/watchdog";
import { watchdog } from "./support/watchdog-harness";

const T = 1_800_000_000_000;
const ok: ProbeResult = { ok: true, status: 200, ms: 12 };
const down: ProbeResult = {
	ok: false,
	reason: "timeout",
	ms: 1000,
	detail: "no answer within 1000 ms",
};

/** Runs `fn` with the SQL storage of a scratch Durable Object (not a configured group). */
function withSql<R>(name: string, fn: (sql: SqlStorage) => R): Promise<R> {
	return runInDurableObject(watchdog(`store-${name}`), (_i: Watchdog, state) =>
		fn(state.storage.sql),
	);
}

function event(at: number, summary: string): PairEvent {
	return {
		kind: "paused",
		severity: "info",
		at,
		from: "primary-active",
		to: "paused",
		term: 0,
		summary,
		evidence: [{ witness: "operator", saw: "pause" }],
		next: "",
		notify: true,
	};
}

/** The SQL storage with the rows each statement read added up (what the Free plan counts). */
function countingReads(sql: SqlStorage): { sql: SqlStorage; rowsRead: () => number } {
	let read = 0;
	const counting = {
		exec(query: string, ...bindings: unknown[]) {
			const cursor = sql.exec(query, ...bindings);
			const rows = cursor.toArray();
			read += cursor.rowsRead;
			return { toArray: () => rows, rowsWritten: cursor.rowsWritten };
		},
	};
	return { sql: counting as unknown as SqlStorage, rowsRead: () => read };
}

describe("Store", () => {
	it("finds where a pair left off in a few dozen rows read, before and after the rings wrap", async () => {
		await withSql("wake-reads", (sql) => {
			const store = new Store(sql);
			let s: PairState = initialState(T);
			for (const total of [7, OBSERVATION_RING + 333]) {
				for (let i = store.observations("p", 1)[0]?.seq ?? 0; i < total; i++) {
					s = { ...s, oks: i + 1 };
					store.commitTick("p", { at: T + i + 1, probe: ok, standby: null }, s);
				}
				store.appendEvents("p", [event(T + total, `e${total}`)]);
				// A woken object: a fresh Store over the same tables.
				const woke = countingReads(sql);
				const again = new Store(woke.sql);
				expect(again.lastTickAt("p")).toBe(T + total);
				expect(again.state("p")?.oks).toBe(total);
				// log2(2000) + log2(1000) point reads and a few more, not the 3,000 rows of a scan.
				expect(woke.rowsRead()).toBeLessThan(40);
				again.appendEvents("p", [event(T + total + 1, "after wake")]);
				expect(again.events("p", 2).map((e) => e.summary)).toEqual(["after wake", `e${total}`]);
			}
		});
	});

	it("keeps the newest OBSERVATION_RING observations per pair, newest first, without deleting", async () => {
		await withSql("ring", (sql) => {
			const store = new Store(sql);
			let s: PairState = initialState(T);
			const total = OBSERVATION_RING + 25;
			for (let i = 1; i <= total; i++) {
				s = { ...s, oks: i };
				store.commitTick("p", { at: T + i, probe: ok, standby: null }, s);
			}
			const rows = sql.exec("SELECT count(*) AS n FROM observations WHERE pair = 'p'").one();
			expect(rows.n).toBe(OBSERVATION_RING);
			const recent = store.observations("p", 3);
			expect(recent.map((o) => o.at)).toEqual([T + total, T + total - 1, T + total - 2]);
			const all = store.observations("p", 5_000);
			expect(all).toHaveLength(OBSERVATION_RING);
			expect(all.at(-1)?.at).toBe(T + total - OBSERVATION_RING + 1);
			// Another pair's ring is separate.
			expect(store.observations("other", 10)).toEqual([]);
		});
	});

	it("writes the state row only when more than the counters change, and recovers counters on reload", async () => {
		await withSql("state", (sql) => {
			const store = new Store(sql);
			const s0 = initialState(T);
			store.commitTick("p", { at: T, probe: ok, standby: null }, { ...s0, oks: 1 });
			const stateRow = () =>
				sql.exec("SELECT state, obs_seq FROM pair_state WHERE pair = 'p'").one();
			const first = stateRow();
			const before = store.rowsWritten;
			store.commitTick("p", { at: T + 5_000, probe: ok, standby: null }, { ...s0, oks: 2 });
			expect(store.rowsWritten - before).toBe(1);
			expect(stateRow()).toEqual(first);

			// A fresh Store (an evicted object) sees the counters of the last tick.
			expect(new Store(sql).state("p")?.oks).toBe(2);

			// A real change is written to the state row at once.
			const failing: PairState = { ...s0, fails: 1, reason: "primary probe failing" };
			store.commitTick("p", { at: T + 10_000, probe: down, standby: "not polled" }, failing);
			expect(JSON.parse(String(stateRow().state))).toEqual(failing);
			expect(new Store(sql).state("p")).toEqual(failing);

			// Counters can go back to the stored values: the reload must not pick an older carried row.
			store.commitTick(
				"p",
				{ at: T + 15_000, probe: down, standby: null },
				{ ...failing, fails: 2 },
			);
			store.commitTick("p", { at: T + 20_000, probe: down, standby: null }, failing);
			expect(new Store(sql).state("p")).toEqual(failing);
		});
	});

	it("orders a state change outside a tick (operator, command outcome) after the tick before it", async () => {
		await withSql("operator", (sql) => {
			const store = new Store(sql);
			const s0 = initialState(T);
			store.commitTick(
				"p",
				{ at: T, probe: ok, standby: null },
				{ ...s0, oks: 1, reason: "primary ready" },
			);
			store.commitTick(
				"p",
				{ at: T + 5_000, probe: ok, standby: null },
				{ ...s0, oks: 2, reason: "primary ready" },
			);
			const paused: PairState = { ...s0, oks: 2, state: "paused", resumeTo: "primary-active" };
			store.commitState("p", paused, T + 6_000);
			expect(new Store(sql).state("p")).toEqual(paused);
			expect(new Store(sql).lastTickAt("p")).toBe(T + 5_000);
		});
	});

	it("records what was seen: status, latency, reason, standby summary and the state after", async () => {
		await withSql("columns", (sql) => {
			const store = new Store(sql);
			store.commitTick(
				"p",
				{ at: T, probe: down, standby: "standby agent unreachable: refused" },
				{
					...initialState(T),
					fails: 1,
				},
			);
			expect(store.observations("p", 1)[0]).toEqual({
				seq: 1,
				at: T,
				ok: false,
				status: null,
				ms: 1000,
				reason: "timeout",
				detail: "no answer within 1000 ms",
				standby: "standby agent unreachable: refused",
				state: "primary-active",
				term: 0,
			});
		});
	});

	it("keeps the newest EVENT_RING events per pair, newest first", async () => {
		await withSql("events", (sql) => {
			const store = new Store(sql);
			const total = EVENT_RING + 7;
			for (let i = 1; i <= total; i += 10) {
				const batch: PairEvent[] = [];
				for (let j = i; j < Math.min(i + 10, total + 1); j++) batch.push(event(T + j, `e${j}`));
				store.appendEvents("p", batch);
			}
			expect(sql.exec("SELECT count(*) AS n FROM events").one().n).toBe(EVENT_RING);
			const recent = store.events("p", 2);
			expect(recent.map((e) => e.summary)).toEqual([`e${total}`, `e${total - 1}`]);
			expect(recent[0]).toMatchObject({
				seq: total,
				evidence: [{ witness: "operator", saw: "pause" }],
			});
			// Sequence numbers carry on after a reload.
			const again = new Store(sql);
			again.appendEvents("p", [event(T, "after reload")]);
			expect(again.events("p", 1)[0]).toMatchObject({ seq: total + 1, summary: "after reload" });
		});
	});

	it("writes a meta value only when it changes", async () => {
		await withSql("meta", (sql) => {
			const store = new Store(sql);
			store.setMeta("k", "v1");
			const before = store.rowsWritten;
			store.setMeta("k", "v1");
			expect(store.rowsWritten).toBe(before);
			store.setMeta("k", "v2");
			expect(new Store(sql).getMeta("k")).toBe("v2");
		});
	});
});
