// Commands against the tick's deadline: fitted into the time left, never made up after it, polled even when the primary hangs.
import { describe, expect, it } from "vitest";
import { deadline } from "../../worker/src/deadline";
import { initialState, opIdFor } from "../../worker/src/decide";
import { tickPair } from "../../worker/src/pair-tick";
import type { Store } from "../../worker/src/store";
import type { PairState, PendingCommand } from "../../worker/src/types";
import {
	expired,
	outcome,
	pairConfig,
	primary,
	scriptedAgent,
	slowOperation,
	T,
	type Turn,
	turnDeps,
	withStore,
} from "./support/pair-turn-harness";

function pending(action: PendingCommand["action"], term: number): PendingCommand {
	return {
		action,
		target: action === "sync" ? "primary" : "standby",
		term,
		opId: opIdFor("turn", action, term, 1),
		attempt: 1,
		issuedAt: T,
	};
}

/** A pair just failed back: the primary's agent is pulling the standby's workspace (sync in flight). */
function syncing(store: Store): void {
	const s: PairState = { ...initialState(T), term: 1, pending: pending("sync", 1) };
	store.commitState("turn", s, T);
}

/** Runs `n` ticks one interval apart, each with a real deadline of `budgetMs`. */
async function ticks(t: Turn, n: number, budgetMs: number): Promise<void> {
	for (let i = 0; i < n; i++) {
		const dl = deadline(budgetMs);
		try {
			await tickPair(t.deps, t.clock.now, dl.signal, budgetMs);
		} finally {
			dl.clear();
		}
		t.clock.now += 1_000;
	}
}

describe("a command and the tick's deadline", () => {
	it("a sync that outlasts a short tick is seen running, not failed (1 s interval, default commandTimeoutMs)", async () => {
		await withStore("sync-short-tick", async (store) => {
			syncing(store);
			let finished = false;
			const agent = scriptedAgent((cmd, opts) =>
				finished ? outcome(cmd, "succeeded") : slowOperation(cmd, opts),
			);
			const t = turnDeps(
				store,
				pairConfig({ probeIntervalSeconds: 1, probeTimeoutMs: 500 }),
				agent,
				primary(() => "up"),
			);
			// The budget of a 1 s tick is 900 ms; a shorter one keeps the test quick.
			await ticks(t, 4, 300);
			// Each poll asked the agent to answer within the tick, and it did: "running", never a spent attempt.
			expect(agent.sent).toHaveLength(4);
			for (const s of agent.sent) expect(s.waitMs).toBeLessThan(300);
			expect(store.state("turn")?.pending).toMatchObject({ action: "sync", attempt: 1 });
			expect(t.notified.map((e) => e.kind)).not.toContain("sync-failed");
			// The pull ends: the next poll (same op id) hears it.
			finished = true;
			await ticks(t, 1, 300);
			expect(agent.sent.at(-1)?.cmd.opId).toBe(opIdFor("turn", "sync", 1, 1));
			expect(store.state("turn")?.pending).toBeNull();
			expect(t.notified.map((e) => e.kind)).toEqual(["synced"]);
		});
	});

	it("nothing is sent once the deadline has passed, and no outcome is made up for it", async () => {
		await withStore("sync-after-deadline", async (store) => {
			syncing(store);
			const agent = scriptedAgent((cmd) => outcome(cmd, "succeeded"));
			const t = turnDeps(
				store,
				pairConfig(),
				agent,
				primary(() => "up"),
			);
			for (let i = 0; i < 4; i++) {
				const r = await tickPair(t.deps, t.clock.now, expired(), 0);
				expect(r.commands).toEqual([]);
				t.clock.now += 5_000;
			}
			expect(agent.sent).toEqual([]);
			// Still pending, as sent last: the next tick with time left polls it.
			expect(store.state("turn")?.pending).toEqual(pending("sync", 1));
			expect(t.notified.map((e) => e.kind)).not.toContain("sync-failed");
		});
	});

	it("a promotion is heard finished while the primary hangs until the deadline (probe timeout near the interval)", async () => {
		await withStore("promote-hanging-primary", async (store) => {
			const s: PairState = {
				...initialState(T),
				state: "promoting",
				term: 1,
				failovers: [T],
				pending: pending("promote", 1),
			};
			store.commitState("turn", s, T);
			// The standby finished the promotion: a poll is answered at once.
			const agent = scriptedAgent((cmd) => outcome(cmd, "succeeded", "git-pull, systemd-start"));
			// Valid: the probe timeout is below the interval, yet longer than the whole tick.
			const pair = pairConfig({ probeIntervalSeconds: 1, probeTimeoutMs: 950 });
			const t = turnDeps(
				store,
				pair,
				agent,
				primary(() => "hang"),
			);
			await ticks(t, 1, 400);
			expect(agent.sent).toHaveLength(1);
			expect(agent.sent[0]?.abortedAtSend).toBe(false);
			expect(store.state("turn")).toMatchObject({ state: "standby-active", pending: null });
			expect(t.notified.map((e) => e.kind)).toEqual(["promoted"]);
		});
	});
});
