// Replication through a real tick: an agent status carrying a failing push gives one stored and notified warning,
// the same reason on the next tick none, a changed reason one more; the facts persist in the state the store reloads.
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { ReplicationStatus } from "../../protocol";
import { deadline } from "../../worker/src/deadline";
import { tickPair } from "../../worker/src/pair-tick";
import { summarize } from "../../worker/src/pair-view";
import { Store } from "../../worker/src/store";
import type { PrimaryAgentView, StandbyView } from "../../worker/src/types";
import type { Watchdog } from "../../worker/src/watchdog";
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
import { watchdog } from "./support/watchdog-harness";

function replication(over: Partial<ReplicationStatus> = {}): ReplicationStatus {
	return {
		mode: "active",
		leaseTerm: 0,
		leaseExpiresInMs: 40_000,
		lastPushAt: null,
		lastPushAgeMs: 90_000,
		pendingCommits: 2,
		oldestPendingAgeMs: 60_000,
		heldBranch: null,
		behindCommits: null,
		lastFetchAt: null,
		watch: "watching",
		problem: null,
		refused: [],
		...over,
	};
}

const reachableStandby = () => standbyUp() as Extract<StandbyView, { reachable: true }>;

const failingPush = (kind: string, message: string): ReplicationStatus =>
	replication({ problem: { kind, message, hint: "fix it", since: T } });

describe("replication events through the tick", () => {
	it("one warning for a failing push, none for the same reason, one more when it changes", async () => {
		let primaryReplication = failingPush(
			"auth",
			"git push to origin/main failed: Permission denied (publickey)",
		);
		const standby = (): StandbyView => ({
			...reachableStandby(),
			replication: {
				status: replication({ mode: "standby", pendingCommits: 0, behindCommits: 3 }),
				agentNow: T,
				ageMs: 0,
			},
		});
		const agent = Object.assign(
			scriptedAgent((cmd) => outcome(cmd, "succeeded"), standby),
			{
				primaryStatus: async (): Promise<PrimaryAgentView> => ({
					reachable: true,
					term: 0,
					gateway: null,
					maintenanceUntil: null,
					replication: { status: primaryReplication, agentNow: T, ageMs: 0 },
				}),
			},
		);
		await runInDurableObject(watchdog("turn-repl-dedup"), async (_i: Watchdog, state) => {
			const store = new Store(state.storage.sql);
			const t = turnDeps(
				store,
				pairConfig(),
				agent,
				primary(() => "up"),
			);
			const tick = async () => {
				const dl = deadline(5_000);
				try {
					await tickPair(t.deps, t.clock.now, dl.signal, 5_000);
				} finally {
					dl.clear();
				}
				t.clock.now += 5_000;
			};
			const replicationKinds = () =>
				t.notified.filter((e) => e.kind.startsWith("replication-")).map((e) => e.kind);

			await tick();
			expect(replicationKinds()).toEqual(["replication-failing"]);
			expect(t.notified.at(-1)?.summary).toMatch(
				/^the primary's workspace replication: pushes are refused/,
			);
			// Stored in the event log as well as handed to the notifiers.
			expect(store.events("turn", 10).filter((e) => e.kind === "replication-failing")).toHaveLength(
				1,
			);

			// Same reason, moving counts and ages: nothing new, and only the tick's observation row is
			// written (the facts ride in it like the probe counters; the state row stays as it was).
			for (const pending of [3, 4, 5]) {
				primaryReplication = failingPush(
					"auth",
					"git push to origin/main failed: Permission denied (publickey)",
				);
				primaryReplication.pendingCommits = pending;
				primaryReplication.lastPushAgeMs = 90_000 + pending * 5_000;
				const written = store.rowsWritten;
				await tick();
				expect(store.rowsWritten - written).toBe(1);
			}
			expect(replicationKinds()).toEqual(["replication-failing"]);

			primaryReplication = failingPush(
				"remote-unreachable",
				"git push to origin/main failed: Connection timed out",
			);
			await tick();
			expect(replicationKinds()).toEqual(["replication-failing", "replication-failing"]);
			expect(t.notified.at(-1)?.summary).toMatch(/the remote cannot be reached/);

			// The facts are in the state, and survive a reload of the store (a new object, same storage).
			const s = store.state("turn");
			expect(s?.replication?.primary?.facts).toMatchObject({
				mode: "active",
				pendingCommits: 2,
				problem: { kind: "remote-unreachable" },
			});
			expect(s?.replication?.standby?.facts).toMatchObject({ mode: "standby", behindCommits: 3 });
			// A new object over the same storage (an eviction): the last facts and what was announced are back.
			const reloaded = new Store(state.storage.sql).state("turn");
			expect(reloaded?.replication).toEqual(s?.replication);
		});
	});

	it("the summary lists a standing problem and the public-safe facts per side; reloaded state keeps them", async () => {
		const agent = Object.assign(
			scriptedAgent(
				(cmd) => outcome(cmd, "succeeded"),
				(): StandbyView => ({ ...reachableStandby(), replication: null }),
			),
			{
				primaryStatus: async (): Promise<PrimaryAgentView> => ({
					reachable: true,
					term: 0,
					gateway: null,
					maintenanceUntil: null,
					replication: {
						status: failingPush(
							"stalled",
							"commits unpushed for over 300 s: git push to git@github.com:me/ws.git failed",
						),
						agentNow: T,
						ageMs: 0,
					},
				}),
			},
		);
		await withStore("repl-summary", async (store) => {
			const pair = pairConfig();
			const t = turnDeps(
				store,
				pair,
				agent,
				primary(() => "up"),
			);
			const dl = deadline(5_000);
			await tickPair(t.deps, t.clock.now, dl.signal, 5_000).finally(() => dl.clear());
			const config = {
				pairs: new Map([[pair.name, pair]]),
				pairErrors: new Map(),
			} as unknown as Parameters<typeof summarize>[1];
			const sum = summarize(store, config, "default", pair.name);
			expect(sum.problems).toContain(
				"the primary's workspace replication: stalled: commits are not reaching the remote",
			);
			expect(sum.replication?.primary).toEqual({
				mode: "active",
				seenAt: T,
				lastPushAt: T - 90_000,
				pendingCommits: 2,
				oldestPendingAt: T - 60_000,
				behindCommits: null,
				lastFetchAt: null,
				watch: "watching",
				problem: { kind: "stalled", since: T },
				refusedCount: 0,
			});
			expect(sum.replication?.standby).toEqual({ mode: "off", seenAt: T });
			// Nothing the public view would have to scrub: no message, hint, path or remote.
			expect(JSON.stringify(sum.replication)).not.toMatch(/github|git@|unpushed/);
		});
	});
});
