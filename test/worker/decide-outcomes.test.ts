// decide() on command outcomes: every result, for the pending op id and for a stale one, in every state that can have one.
import { describe, expect, it } from "vitest";
import type { StepWarning } from "../../protocol";
import { SYNC_UNANSWERED_WINDOW_MS } from "../../worker/src/decide-outcome";
import type { CommandAction, Observation } from "../../worker/src/types";
import { cfg, cmd, NOW, outcome, pending, run, st } from "./support/decide-fixtures";
import {
	BDD,
	BDP,
	DEM,
	DEM3,
	HELD,
	PA,
	PAS,
	PAUSED_PROM,
	PROM,
	PROM3,
	SA,
} from "./support/decide-states";
import { checkRow, type Row } from "./support/decide-table";

const WITH_PRIMARY_AGENT = cfg({
	primary: { readyUrl: "http://127.0.0.1:9001/readyz", agentUrl: "http://127.0.0.1:9003" },
});

const promoting: Row[] = [
	{
		name: "succeeded -> standby-active, standby is active, pending cleared",
		from: PROM,
		obs: outcome("promote", 2, 1, "succeeded"),
		want: {
			state: "standby-active",
			active: "standby",
			events: ["promoted"],
			pending: null,
			check: (s) => {
				expect(s.activeSince).toBe(NOW);
				expect(s.oks).toBe(0);
			},
		},
	},
	{
		name: "running -> nothing changes",
		from: PROM,
		obs: outcome("promote", 2, 1, "running"),
		want: { state: "promoting", pending: "same" },
	},
	{
		name: "unreachable -> nothing changes (polled next tick)",
		from: PROM,
		obs: outcome("promote", 2, 1, "unreachable"),
		want: { state: "promoting", pending: "same" },
	},
	{
		name: "failed, attempt 1 -> retried as attempt 2, same term",
		from: PROM,
		obs: outcome("promote", 2, 1, "failed"),
		want: {
			state: "promoting",
			commands: [cmd("promote", 2, 2)],
			events: ["promote-failed"],
			pending: pending("promote", 2, 2, NOW),
		},
	},
	{
		name: "rejected, attempt 1 -> retried as attempt 2 with a bumped term (stale-term rejection)",
		from: PROM,
		obs: outcome("promote", 2, 1, "rejected", "stale term: agent has seen 2"),
		want: {
			state: "promoting",
			term: 3,
			commands: [cmd("promote", 3, 2)],
			events: ["promote-failed"],
		},
	},
	{
		name: "failed on the last attempt -> held, pending cleared",
		from: PROM3,
		obs: outcome("promote", 2, 3, "failed"),
		want: { state: "held", events: ["promote-failed"], pending: null },
	},
	{
		name: "rejected on the last attempt -> held",
		from: PROM3,
		obs: outcome("promote", 2, 3, "rejected"),
		want: { state: "held", events: ["promote-failed"], pending: null },
	},
	{
		name: "unsupported (no agent client) -> held, honest 'would promote'",
		from: PROM,
		obs: outcome("promote", 2, 1, "unsupported"),
		want: {
			state: "held",
			events: ["promote-failed"],
			pending: null,
			// The reason repeats what the shell said it could not send.
			check: (s) => expect(s.reason).toMatch(/^cannot promote: /),
		},
	},
	...(["succeeded", "failed", "rejected", "unsupported"] as const).map(
		(r): Row => ({
			name: `stale op id (earlier attempt) ${r} -> ignored`,
			from: PROM3,
			obs: outcome("promote", 2, 1, r),
			want: { state: "promoting", pending: "same" },
		}),
	),
	{
		name: "stale op id (older term) succeeded -> ignored",
		from: PROM,
		obs: outcome("promote", 1, 1, "succeeded"),
		want: { state: "promoting", pending: "same" },
	},
];

const demoting: Row[] = [
	{
		name: "succeeded, no primary agent -> primary-active, operator told to pull",
		from: DEM,
		obs: outcome("demote", 2, 1, "succeeded"),
		want: {
			state: "primary-active",
			active: "primary",
			events: ["demoted"],
			pending: null,
			check: (s) => expect(s.activeSince).toBe(NOW),
		},
	},
	{
		name: "succeeded, primary agent configured -> sync sent to the primary, same term",
		from: DEM,
		obs: outcome("demote", 2, 1, "succeeded"),
		config: WITH_PRIMARY_AGENT,
		want: {
			state: "primary-active",
			active: "primary",
			events: ["demoted"],
			commands: [cmd("sync", 2)],
			pending: pending("sync", 2, 1, NOW),
		},
	},
	{
		name: "running -> nothing",
		from: DEM,
		obs: outcome("demote", 2, 1, "running"),
		want: { state: "demoting", pending: "same" },
	},
	{
		name: "unreachable -> nothing",
		from: DEM,
		obs: outcome("demote", 2, 1, "unreachable"),
		want: { state: "demoting", pending: "same" },
	},
	{
		name: "failed -> attempt 2",
		from: DEM,
		obs: outcome("demote", 2, 1, "failed"),
		want: { state: "demoting", commands: [cmd("demote", 2, 2)], events: ["demote-failed"] },
	},
	{
		name: "rejected -> attempt 2, term NOT bumped (judgement: only promotions move the term)",
		from: DEM,
		obs: outcome("demote", 2, 1, "rejected"),
		want: { state: "demoting", commands: [cmd("demote", 2, 2)], events: ["demote-failed"] },
	},
	{
		name: "failed on the last attempt -> held on the standby; term bumped so the next demote gets fresh op ids (fixed)",
		from: DEM3,
		obs: outcome("demote", 2, 3, "failed"),
		want: { state: "held", term: 3, events: ["demote-failed"], pending: null },
	},
	{
		name: "unsupported -> held; term bumped (fixed)",
		from: DEM,
		obs: outcome("demote", 2, 1, "unsupported"),
		want: { state: "held", term: 3, events: ["demote-failed"], pending: null },
	},
	{
		name: "stale op id -> ignored",
		from: DEM3,
		obs: outcome("demote", 2, 2, "succeeded"),
		want: { state: "demoting", pending: "same" },
	},
];

const sync: Row[] = [
	{
		name: "succeeded -> pending cleared, logged quietly",
		from: PAS,
		obs: outcome("sync", 2, 1, "succeeded"),
		config: WITH_PRIMARY_AGENT,
		want: { state: "primary-active", events: ["synced"], pending: null },
	},
	{
		name: "running -> nothing",
		from: PAS,
		obs: outcome("sync", 2, 1, "running"),
		want: { state: "primary-active", pending: "same" },
	},
	{
		name: "unreachable within the sync's own deadline -> polled again, no attempt spent (a long merge is still running)",
		from: PAS,
		obs: outcome("sync", 2, 1, "unreachable"),
		want: { state: "primary-active", pending: "same" },
	},
	{
		name: "unreachable on the last attempt but within the window -> still polled, never given up",
		from: { ...PAS, pending: { ...pending("sync", 2), attempt: 3 } },
		obs: outcome("sync", 2, 1, "unreachable"),
		want: { state: "primary-active", pending: "same" },
	},
	{
		name: "unreachable past the window -> same op id, attempt counted",
		from: { ...PAS, pending: pending("sync", 2, 1, NOW - SYNC_UNANSWERED_WINDOW_MS) },
		obs: outcome("sync", 2, 1, "unreachable"),
		want: {
			state: "primary-active",
			pending: { ...pending("sync", 2, 1, NOW - SYNC_UNANSWERED_WINDOW_MS), attempt: 2 },
		},
	},
	{
		name: "failed -> attempt 2 (new op id)",
		from: PAS,
		obs: outcome("sync", 2, 1, "failed"),
		want: { state: "primary-active", commands: [cmd("sync", 2, 2)] },
	},
	{
		name: "rejected -> attempt 2",
		from: PAS,
		obs: outcome("sync", 2, 1, "rejected"),
		want: { state: "primary-active", commands: [cmd("sync", 2, 2)] },
	},
	{
		name: "unsupported -> given up with a warning",
		from: PAS,
		obs: outcome("sync", 2, 1, "unsupported"),
		want: { state: "primary-active", events: ["sync-failed"], pending: null },
	},
	{
		name: "failed on the last attempt -> given up with a warning, state unchanged",
		from: { ...PAS, pending: pending("sync", 2, 3) },
		obs: outcome("sync", 2, 3, "failed"),
		want: { state: "primary-active", events: ["sync-failed"], pending: null },
	},
	{
		name: "unreachable on the last attempt, past the window -> given up",
		from: {
			...PAS,
			pending: { ...pending("sync", 2, 1, NOW - SYNC_UNANSWERED_WINDOW_MS - 1), attempt: 3 },
		},
		obs: outcome("sync", 2, 1, "unreachable"),
		want: { state: "primary-active", events: ["sync-failed"], pending: null },
	},
];

const elsewhere: Row[] = [
	{
		name: "both-down, promote cut off: succeeded -> standby-active",
		from: BDP,
		obs: outcome("promote", 2, 1, "succeeded"),
		want: { state: "standby-active", active: "standby", events: ["promoted"], pending: null },
	},
	{
		name: "both-down, promote cut off: failed -> retried, still both-down",
		from: BDP,
		obs: outcome("promote", 2, 1, "failed"),
		want: { state: "both-down", commands: [cmd("promote", 2, 2)], events: ["promote-failed"] },
	},
	{
		name: "both-down, demote cut off: succeeded -> primary-active",
		from: BDD,
		obs: outcome("demote", 2, 1, "succeeded"),
		want: { state: "primary-active", active: "primary", events: ["demoted"], pending: null },
	},
	{
		name: "paused mid-promotion: succeeded -> stays paused, left pending for resume to re-read (fixed)",
		from: PAUSED_PROM,
		obs: outcome("promote", 2, 1, "succeeded"),
		want: { state: "paused", pending: "same" },
	},
	{
		name: "paused mid-promotion: failed -> stays paused, nothing sent (fixed)",
		from: PAUSED_PROM,
		obs: outcome("promote", 2, 1, "failed"),
		want: { state: "paused", pending: "same" },
	},
	...(
		[
			["primary-active", PA],
			["standby-active", SA],
			["held", HELD],
		] as const
	).flatMap(([name, from]) =>
		(["succeeded", "failed", "rejected", "unsupported", "running", "unreachable"] as const).map(
			(r): Row => ({
				name: `${name}, nothing pending: promote ${r} -> ignored`,
				from,
				obs: outcome("promote", from.term ?? 0, 1, r),
				want: { state: name },
			}),
		),
	),
];

describe.each([
	["promoting (pending promote)", promoting],
	["demoting (pending demote)", demoting],
	["primary-active (pending sync)", sync],
	["other states", elsewhere],
])("command outcome in %s", (_s, rows) => {
	it.each(rows)("$name", (row) => checkRow(row));
});

describe("outcome evidence", () => {
	it("names the op id, the result and the agent's detail", () => {
		const d = run(st(PROM), outcome("promote", 2, 1, "failed", "git-pull: not a fast-forward"));
		expect(d.events[0]?.evidence).toEqual([
			{
				witness: "agent",
				saw: "promote home:promote:t2:a1: failed: git-pull: not a fast-forward",
			},
		]);
		expect(d.events[0]?.summary).toMatch(/attempt 1 failed: git-pull: not a fast-forward/);
	});
});

/** A succeeded outcome carrying the steps' warnings, as operationOutcome builds it. */
function warned(action: CommandAction, term: number, warnings: StepWarning[]): Observation {
	const o = outcome(action, term, 1, "succeeded");
	if (o.kind !== "command") throw new Error("outcome() builds a command observation");
	return { kind: "command", outcome: { ...o.outcome, warnings } };
}

const CONFLICT: StepWarning = {
	code: "merge-conflicts",
	message:
		"conflicting paths took origin/main's version; this side's is on failover/primary-20261129T230000Z: MEMORY.md, memory/2026-11-29.md. Reconcile by hand: git diff main failover/primary-20261129T230000Z -- <path>",
};
const MASS: StepWarning = {
	code: "mass-deletion-held",
	message: "12 deleted path(s) were not committed",
};

describe("a succeeded command with step warnings (a merge that saved one side's version, a held deletion)", () => {
	it.each<[string, Row]>([
		[
			"promote with conflicts -> promoted, then one replication-conflict naming the paths and the branch",
			{
				name: "promote",
				from: PROM,
				obs: warned("promote", 2, [CONFLICT]),
				want: {
					state: "standby-active",
					active: "standby",
					events: ["promoted", "replication-conflict"],
					pending: null,
				},
			},
		],
		[
			"failback sync with conflicts -> synced, then replication-conflict",
			{
				name: "sync",
				from: PAS,
				obs: warned("sync", 2, [CONFLICT]),
				config: WITH_PRIMARY_AGENT,
				want: {
					state: "primary-active",
					events: ["synced", "replication-conflict"],
					pending: null,
				},
			},
		],
		[
			"two warnings -> one event each, in order",
			{
				name: "two",
				from: PROM,
				obs: warned("promote", 2, [CONFLICT, MASS]),
				want: {
					state: "standby-active",
					active: "standby",
					events: ["promoted", "replication-conflict", "replication-held"],
				},
			},
		],
		[
			"an unknown code from a newer agent -> still a warning event (held work), its words kept",
			{
				name: "unknown",
				from: PROM,
				obs: warned("promote", 2, [{ code: "something-new", message: "look at it" }]),
				want: {
					state: "standby-active",
					active: "standby",
					events: ["promoted", "replication-held"],
				},
			},
		],
		[
			"no warnings -> only the outcome's own event",
			{
				name: "none",
				from: PROM,
				obs: warned("promote", 2, []),
				want: { state: "standby-active", active: "standby", events: ["promoted"] },
			},
		],
	])("%s", (_n, row) => checkRow(row));

	it("the conflict event carries the agent's words: paths, branch and the git command", () => {
		const d = run(st(PROM), warned("promote", 2, [CONFLICT]));
		const e = d.events.find((x) => x.kind === "replication-conflict");
		expect(e?.severity).toBe("warning");
		expect(e?.summary).toContain("the standby's promote");
		expect(e?.summary).toContain("MEMORY.md, memory/2026-11-29.md");
		expect(e?.summary).toContain("git diff main failover/primary-20261129T230000Z");
		expect(e?.notify).toBe(true);
	});

	it("warnings on a failed or running outcome raise nothing of their own", () => {
		const failed = outcome("promote", 2, 1, "failed");
		if (failed.kind !== "command") throw new Error("command observation");
		const d = run(st(PROM), {
			kind: "command",
			outcome: { ...failed.outcome, warnings: [CONFLICT] },
		});
		expect(d.events.map((e) => e.kind)).toEqual(["promote-failed"]);
	});
});
