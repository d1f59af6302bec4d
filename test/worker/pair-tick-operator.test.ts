// An operator command landing in the middle of a tick (between its awaits): nothing it changed is overwritten.
import { describe, expect, it } from "vitest";
import { deadline } from "../../worker/src/deadline";
import { initialState } from "../../worker/src/decide";
import { operatePair, tickPair } from "../../worker/src/pair-tick";
import type { Command, CommandOutcome, PairState } from "../../worker/src/types";
import {
	outcome,
	pairConfig,
	primary,
	scriptedAgent,
	standbyUp,
	T,
	turnDeps,
	withStore,
} from "./support/pair-turn-harness";

/** A gate the test opens by hand: lets a tick stop at a chosen await. */
function gate<V>(): { wait: Promise<V>; open: (v: V) => void } {
	let open!: (v: V) => void;
	const wait = new Promise<V>((r) => {
		open = r;
	});
	return { wait, open };
}

const BUDGET = 10_000;

function tick(t: ReturnType<typeof turnDeps>) {
	const dl = deadline(BUDGET);
	return tickPair(t.deps, t.clock.now, dl.signal, BUDGET).finally(() => dl.clear());
}

function operate(t: ReturnType<typeof turnDeps>, command: "pause" | "resume" | "promote") {
	const dl = deadline(BUDGET);
	return operatePair(t.deps, command, dl.signal).finally(() => dl.clear());
}

/** Two failed ticks already: the next failed one with the standby agreeing promotes. */
function aboutToPromote(): PairState {
	return { ...initialState(T), fails: 2, reason: "primary probe failing, below the threshold" };
}

describe("an operator command during a tick", () => {
	it("pause while the tick's promote is in flight: the late outcome moves nothing, resume picks it up", async () => {
		await withStore("op-pause-in-flight", async (store) => {
			store.commitState("turn", aboutToPromote(), T);
			const answer = gate<CommandOutcome["result"]>();
			const agent = scriptedAgent(
				async (cmd: Command) => outcome(cmd, await answer.wait),
				() => standbyUp(false),
			);
			const t = turnDeps(
				store,
				pairConfig(),
				agent,
				primary(() => "down"),
			);
			const ticking = tick(t);
			// The promote is out; the operator pauses before the agent answers.
			await until(() => agent.sent.length === 1);
			const paused = await operate(t, "pause");
			expect(paused.state).toMatchObject({ state: "paused", resumeTo: "promoting" });
			answer.open("succeeded");
			await ticking;
			const s = store.state("turn");
			expect(s).toMatchObject({ state: "paused", active: "primary", term: 1 });
			expect(s?.pending?.opId).toBe("turn:promote:t1:a1");
			expect(s?.failovers).toHaveLength(1);

			// Paused ticks send nothing.
			t.clock.now += 5_000;
			await tick(t);
			expect(agent.sent).toHaveLength(1);

			// Resume polls the same operation; the agent replays its result.
			const resumed = await operate(t, "resume");
			expect(agent.sent.map((c) => c.cmd.opId)).toEqual([
				"turn:promote:t1:a1",
				"turn:promote:t1:a1",
			]);
			expect(resumed.state).toMatchObject({ state: "standby-active", active: "standby", term: 1 });
			expect(resumed.state.failovers).toHaveLength(1);
		});
	});

	it("a forced promote while the tick gathers witnesses: the tick polls it (same op id), one failover", async () => {
		await withStore("op-promote-mid-tick", async (store) => {
			store.commitState("turn", initialState(T), T);
			const probe = gate<void>();
			const agent = scriptedAgent((cmd) => outcome(cmd, "running", "running; done: git-pull"));
			const hold = primary(() => "up");
			const t = turnDeps(store, pairConfig(), agent, (async (input, init) => {
				await probe.wait;
				return hold(input, init);
			}) as typeof fetch);
			const ticking = tick(t);
			const forced = await operate(t, "promote");
			expect(forced.state).toMatchObject({ state: "promoting", term: 1 });
			probe.open();
			await ticking;
			const s = store.state("turn");
			expect(s).toMatchObject({ state: "promoting", term: 1 });
			expect(s?.failovers).toHaveLength(1);
			expect(new Set(agent.sent.map((c) => c.cmd.opId))).toEqual(new Set(["turn:promote:t1:a1"]));
			// The tick recorded the state it decided from, not the one it started with.
			expect(t.notified.map((e) => e.kind)).toEqual(["operator", "promoting"]);
		});
	});
});

/** Yields to the event loop until `cond` holds (bounded: a test that never gets there fails, not hangs). */
async function until(cond: () => boolean): Promise<void> {
	for (let i = 0; i < 1_000 && !cond(); i++) await new Promise((r) => setTimeout(r, 1));
	if (!cond()) throw new Error("condition never held");
}
