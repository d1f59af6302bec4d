// The Store's read path: rows held in memory by seq answer exactly what SQLite holds, whatever the mix of
// commits, read sizes and row caps; a capped read returns the newest rows and says it was cut.
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { initialState } from "../../worker/src/decide";
import { EVENT_RING, OBSERVATION_RING, Store } from "../../worker/src/store";
import type { PairEvent, ProbeResult } from "../../worker/src/types";
import type { Watchdog } from "../../worker/src/watchdog";
import { watchdog } from "./support/watchdog-harness";

const T = 1_800_000_000_000;

function rng(seed: number): () => number {
	let a = seed;
	return () => {
		a = (a + 0x6d2b79f5) | 0;
		let t = Math.imul(a ^ (a >>> 15), 1 | a);
		t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

const event = (at: number): PairEvent => ({
	at,
	kind: "paused",
	severity: "info",
	from: "primary-active",
	to: "paused",
	term: 0,
	summary: `at ${at}`,
	evidence: [],
	next: "",
	notify: false,
});

describe("Store read cache", () => {
	it("answers what a fresh Store reads from SQLite, for random commits and read sizes (seeded)", async () => {
		await runInDurableObject(watchdog("store-read-cache"), (_i: Watchdog, state) => {
			const sql = state.storage.sql;
			for (const seed of [11, 12, 13]) {
				const pair = `c${seed}`;
				const r = rng(seed);
				const cached = new Store(sql);
				let at = T;
				const s = initialState(T);
				// Past the observation ring, so slots wrap under the cache.
				for (let step = 0; step < OBSERVATION_RING + 400; step++) {
					// Bursts of ticks between reads, sometimes longer than a read extends (EXTEND_ROWS).
					const ticks = r() < 0.1 ? Math.floor(r() * 300) : Math.floor(r() * 4);
					for (let k = 0; k < ticks; k++) {
						at += 1_000;
						const probe: ProbeResult = { ok: true, status: 200, ms: Math.floor(r() * 500) };
						cached.commitTick(pair, { at, probe, standby: null }, s);
						if (r() < 0.05) cached.appendEvents(pair, [event(at)]);
					}
					step += ticks;
					const limit = [1, 2, 20, 721, OBSERVATION_RING][Math.floor(r() * 5)] as number;
					const fresh = new Store(sql);
					expect(
						cached.observations(pair, limit),
						`seed ${seed} step ${step} limit ${limit}`,
					).toEqual(fresh.observations(pair, limit));
					const evLimit = [1, 40, EVENT_RING][Math.floor(r() * 3)] as number;
					expect(cached.events(pair, evLimit)).toEqual(fresh.events(pair, evLimit));
				}
			}
		});
	}, 60_000);

	it("reads each row once: a repeat read costs nothing, a read after two ticks costs two rows", async () => {
		await runInDurableObject(watchdog("store-read-cache"), (_i: Watchdog, state) => {
			const store = new Store(state.storage.sql);
			const probe: ProbeResult = { ok: true, status: 200, ms: 5 };
			let at = T;
			for (let k = 0; k < 100; k++)
				store.commitTick("once", { at: (at += 1000), probe, standby: null }, initialState(T));
			store.observations("once", 721);
			const a = store.rowsRead;
			store.observations("once", 721);
			store.observations("once", 1);
			expect(store.rowsRead - a).toBe(0);
			for (let k = 0; k < 2; k++)
				store.commitTick("once", { at: (at += 1000), probe, standby: null }, initialState(T));
			store.observations("once", 1);
			store.observations("once", 721);
			expect(store.rowsRead - a).toBe(2);
		});
	});

	it("under a row cap, returns the newest rows, says it was cut, and the next read completes", async () => {
		await runInDurableObject(watchdog("store-read-cache"), (_i: Watchdog, state) => {
			const writer = new Store(state.storage.sql);
			const probe: ProbeResult = { ok: true, status: 200, ms: 5 };
			let at = T;
			for (let k = 0; k < 300; k++)
				writer.commitTick("capped", { at: (at += 1000), probe, standby: null }, initialState(T));
			const store = new Store(state.storage.sql);
			const cut = store.withReadBudget(100, () => store.observations("capped", 300));
			expect(cut.truncated).toBe(true);
			expect(cut.value).toHaveLength(100);
			expect(cut.value[0]?.seq).toBe(300);
			const whole = store.withReadBudget(1000, () => store.observations("capped", 300));
			expect(whole.truncated).toBe(false);
			expect(whole.value.map((o) => o.seq)).toEqual(Array.from({ length: 300 }, (_, i) => 300 - i));
		});
	});
});
