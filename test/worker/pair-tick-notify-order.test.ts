// Notifications of a turn go out after its agent calls, so a slow notifier can never hold up a promote.
import { describe, expect, it } from "vitest";
import { initialState } from "../../worker/src/decide";
import { operatePair, tickPair } from "../../worker/src/pair-tick";
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

describe("notification order", () => {
	it("sends the promote before handing the 'promoting' event to the notifiers", async () => {
		await withStore("notify-order-tick", async (store) => {
			const order: string[] = [];
			const agent = scriptedAgent(
				(cmd) => {
					order.push(`command ${cmd.action}`);
					return outcome(cmd, "succeeded", "git-pull, systemd-start, wait-ready");
				},
				() => standbyUp(false),
			);
			const t = turnDeps(
				store,
				pairConfig(),
				agent,
				primary(() => "down"),
			);
			t.deps.notify = (_p, events) => order.push(...events.map((e) => `notify ${e.kind}`));
			store.commitState("turn", { ...initialState(T), fails: 2 }, T);
			await tickPair(t.deps, T, new AbortController().signal, 5_000);
			expect(order).toEqual(["command promote", "notify promoting", "notify promoted"]);
			// The events were in the log before any of that.
			expect(store.events("turn", 10).map((e) => e.kind)).toEqual(["promoted", "promoting"]);
		});
	});

	it("notifies an operator command's events, also when every agent call throws (a bug)", async () => {
		await withStore("notify-order-throw", async (store) => {
			const agent = scriptedAgent(() => {
				throw new Error("boom");
			});
			const t = turnDeps(
				store,
				pairConfig(),
				agent,
				primary(() => "up"),
			);
			const r = await operatePair(t.deps, "promote", new AbortController().signal);
			// Each throw is a failed attempt: three of them hold the pair.
			expect(r.state.state).toBe("held");
			expect(agent.sent).toHaveLength(3);
			expect(t.notified.map((e) => e.kind)).toEqual([
				"operator",
				"promoting",
				"promote-failed",
				"promote-failed",
				"promote-failed",
			]);
		});
	});
});
