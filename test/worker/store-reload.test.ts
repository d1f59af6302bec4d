// Store reload: after any mix of ticks and out-of-tick state changes, a fresh Store (an evicted object) sees exactly the last state.
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { initialState } from "../../worker/src/decide";
import { OBSERVATION_RING, Store } from "../../worker/src/store";
import type { PairState, ProbeResult } from "../../worker/src/types";
import type { Watchdog } from "../../worker/src/watchdog";
import { watchdog } from "./support/watchdog-harness";

const T = 1_800_000_000_000;
const ok: ProbeResult = { ok: true, status: 200, ms: 9 };

/** Small deterministic PRNG (mulberry32), so a failure replays. */
function rng(seed: number): () => number {
	let a = seed;
	return () => {
		a = (a + 0x6d2b79f5) | 0;
		let t = Math.imul(a ^ (a >>> 15), 1 | a);
		t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

/** One random change to a state: counters most often (they ride in observation rows), every other field too. */
function mutate(s: PairState, r: () => number, at: number): PairState {
	const pick = Math.floor(r() * 12);
	switch (pick) {
		case 0:
		case 1:
		case 2:
			return { ...s, fails: s.fails + 1, oks: 0 };
		case 3:
			return { ...s, oks: s.oks + 1, fails: 0, standbyMisses: 0 };
		case 4:
			return { ...s, standbyMisses: s.standbyMisses + 1 };
		case 5:
			return {
				...s,
				pending:
					s.pending === null
						? {
								action: "promote",
								target: "standby",
								term: s.term,
								opId: `p:promote:t${s.term}:a1`,
								attempt: 1,
								issuedAt: at,
							}
						: null,
			};
		case 6:
			return { ...s, announced: s.announced.length > 0 ? [] : ["standby-unreachable"] };
		case 7:
			return { ...s, failovers: [...s.failovers, at].slice(-3), term: s.term + 1 };
		case 8:
			return s.drill
				? { ...s, drill: null, lastDrill: { ...s.drill, finishedAt: at, ok: true, outcome: "ok" } }
				: { ...s, drill: { startedAt: at } };
		case 9:
			// The time of the primary's last lease moves every tick and rides in the observation row.
			return {
				...s,
				primaryLease: { heldAt: at, seconds: s.primaryLease?.seconds ?? 30, longer: null },
			};
		case 10:
			// A redeploy that shortens the lease: the older, longer length is kept until it runs out.
			return {
				...s,
				primaryLease: {
					heldAt: s.primaryLease?.heldAt ?? null,
					seconds: 3 + Math.floor(r() * 60),
					longer: r() < 0.5 ? null : { seconds: 90, runsOutAt: at + 90_000 },
				},
			};
		default:
			return s; // an unchanged state: nothing but the observation row is written
	}
}

describe("Store reload", () => {
	it("a fresh Store sees the last state and tick after any sequence of commits (random, seeded)", async () => {
		await runInDurableObject(watchdog("store-reload-random"), (_i: Watchdog, state) => {
			const sql = state.storage.sql;
			for (const seed of [1, 2, 3, 4, 5]) {
				const pair = `p${seed}`;
				const r = rng(seed);
				const store = new Store(sql);
				let s = initialState(T);
				let at = T;
				let lastTick: number | undefined;
				// More steps than the ring holds, so slots wrap.
				for (let step = 0; step < OBSERVATION_RING + 300; step++) {
					at += 1_000;
					s = mutate(s, r, at);
					if (r() < 0.8) {
						store.commitTick(pair, { at, probe: ok, standby: null }, s);
						lastTick = at;
					} else {
						store.commitState(pair, s, at);
					}
					if (step % 97 === 0 || step > OBSERVATION_RING + 280) {
						const fresh = new Store(sql);
						expect(fresh.state(pair), `seed ${seed} step ${step}`).toEqual(s);
						expect(fresh.lastTickAt(pair)).toBe(lastTick);
					}
				}
			}
		});
	});
});

describe("Store reload: a garbled lease memo", () => {
	it.each([
		["heldAt a string", { heldAt: "soon", seconds: 30, longer: null }],
		["seconds missing", { heldAt: T, longer: null }],
		["seconds null (NaN written as JSON)", { heldAt: T, seconds: null, longer: null }],
		["longer without runsOutAt", { heldAt: T, seconds: 30, longer: { seconds: 90 } }],
		["longer a number", { heldAt: T, seconds: 30, longer: 90 }],
		["not an object", 42],
	])(
		"%s is dropped on load (a NaN bound would let the promote skip the fencing wait)",
		async (name, memo) => {
			await runInDurableObject(watchdog("store-reload-memo"), (_i: Watchdog, state) => {
				const pair = `m-${name.replace(/\W+/g, "-")}`;
				const s = { ...initialState(T), primaryLease: memo } as unknown as PairState;
				new Store(state.storage.sql).commitState(pair, s, T);
				const fresh = new Store(state.storage.sql).state(pair);
				expect(fresh).toBeDefined();
				expect(fresh?.primaryLease).toBeUndefined();
			});
		},
	);

	it("a well-formed memo survives a reload as it was", async () => {
		await runInDurableObject(watchdog("store-reload-memo"), (_i: Watchdog, state) => {
			const memo = { heldAt: null, seconds: 3, longer: { seconds: 60, runsOutAt: T + 60_000 } };
			const s: PairState = { ...initialState(T), primaryLease: memo };
			new Store(state.storage.sql).commitState("m-ok", s, T);
			expect(new Store(state.storage.sql).state("m-ok")?.primaryLease).toEqual(memo);
		});
	});
});
