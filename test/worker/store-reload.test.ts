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
	const pick = Math.floor(r() * 10);
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
