// Fencing across a redeploy: the leases the primary's agent may hold live in the stored pair state, cheaply, so a new object with a shorter lease still waits for the old one.
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { AgentClient } from "../../worker/src/agent-client";
import { deadline } from "../../worker/src/deadline";
import { tickPair } from "../../worker/src/pair-tick";
import { Store } from "../../worker/src/store";
import type { PrimaryAgentView } from "../../worker/src/types";
import type { Watchdog } from "../../worker/src/watchdog";
import {
	outcome,
	pairConfig,
	primary,
	scriptedAgent,
	standbyUp,
	T,
	turnDeps,
} from "./support/pair-turn-harness";
import { watchdog } from "./support/watchdog-harness";

const serving: PrimaryAgentView = {
	reachable: true,
	term: 0,
	gateway: { state: "ready", failing: [], uptimeMs: 60_000, detail: "HTTP 200", ageMs: 300 },
	maintenanceUntil: null,
};

/** The primary's agent over HTTP (every attempt may deliver the lease), answering as `view()` says. */
function agentWith(view: () => PrimaryAgentView, standbySeesPrimary: () => boolean): AgentClient {
	return Object.assign(
		scriptedAgent(
			(cmd) => outcome(cmd, "succeeded"),
			() => standbyUp(standbySeesPrimary()),
		),
		{ primaryStatus: async () => view(), leaseDelivered: () => true },
	);
}

describe("fencing across a redeploy that shortens the lease", () => {
	it("the new object waits for the 60 s lease the primary may hold, and a steady tick writes no extra row", async () => {
		await runInDurableObject(watchdog("turn-fence-redeploy"), async (_i: Watchdog, state) => {
			const sql = state.storage.sql;
			const long = pairConfig({ fencing: "self", leaseSeconds: 60 });
			const short = pairConfig({ fencing: "self", leaseSeconds: 20 });
			let up = true;
			const agent = agentWith(
				() => (up ? serving : { reachable: false, reason: "timed out" }),
				() => up,
			);
			const tickWith = async (store: Store, config: typeof long, at: number) => {
				const t = turnDeps(
					store,
					config,
					agent,
					primary(() => (up ? "up" : "down")),
					at,
				);
				const dl = deadline(2_000);
				try {
					await tickPair(t.deps, at, dl.signal, 2_000);
				} finally {
					dl.clear();
				}
			};

			// The old deployment: 60 s leases, the primary healthy.
			const before = new Store(sql);
			for (const s of [0, 5, 10]) await tickWith(before, long, T + s * 1000);
			const lastLong = T + 10_000;
			expect(before.state("turn")?.primaryLease).toEqual({
				heldAt: lastLong,
				seconds: 60,
				longer: null,
			});
			// A steady tick costs its observation row only: the lease's time rides in it.
			const rows = before.rowsWritten;
			await tickWith(before, long, T + 15_000);
			expect(before.rowsWritten - rows).toBe(1);
			expect(new Store(sql).state("turn")?.primaryLease?.heldAt).toBe(T + 15_000);

			// The redeploy: a new object (nothing in memory) with 20 s leases; the primary is cut off.
			up = false;
			const after = new Store(sql);
			const changed = after.rowsWritten;
			await tickWith(after, short, T + 20_000);
			// One state row for the new length, besides the observation row.
			expect(after.rowsWritten - changed).toBe(2);
			// Evicted again: what the next object reads holds the old length and until when it may be held.
			const memo = new Store(sql).state("turn")?.primaryLease;
			expect(memo).toEqual({
				heldAt: T + 20_000,
				seconds: 20,
				longer: { seconds: 60, runsOutAt: T + 15_000 + 60_000 },
			});

			const again = new Store(sql);
			await tickWith(again, short, T + 25_000);
			await tickWith(again, short, T + 30_000);
			const decided = again.state("turn");
			expect(decided?.state).toBe("promoting");
			// The 60 s lease from T + 15 s plus the 5 s margin, not 20 s from the newest lease.
			expect(decided?.promoteAfter).toBe(T + 15_000 + 65_000);
			expect(new Store(sql).state("turn")?.promoteAfter).toBe(T + 80_000);
		});
	});
});
