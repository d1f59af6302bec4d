// The replication facts and events one side's agent status gives: each problem kind told once per reason,
// cleared once, refused paths once each, older agents and unconfigured replication quiet. Pure, table-driven.
import { describe, expect, it } from "vitest";
import type { ReplicationProblem, ReplicationStatus } from "../../protocol";
import {
	factsOf,
	type ReplicationRead,
	reasonKey,
	replicationProblems,
	replicationRead,
	replicationStep,
	WATCHDOG_STALL_MS,
} from "../../worker/src/replication-events";
import type { ReplicationMemo, Side } from "../../worker/src/types";

const NOW = 1_900_000_000_000;
const TICK = 5_000;

function status(over: Partial<ReplicationStatus> = {}): ReplicationStatus {
	return {
		mode: "active",
		leaseTerm: 1,
		leaseExpiresInMs: 40_000,
		lastPushAt: NOW - 12_000,
		lastPushAgeMs: 12_000,
		pendingCommits: 0,
		oldestPendingAgeMs: null,
		heldBranch: null,
		behindCommits: null,
		lastFetchAt: null,
		watch: "watching",
		problem: null,
		refused: [],
		...over,
	};
}

function problem(kind: string, message: string, hint = "do the thing"): ReplicationProblem {
	return { kind, message, hint, since: NOW - 1_000 };
}

const report = (s: ReplicationStatus, ageMs = 0): ReplicationRead => ({
	kind: "report",
	report: { status: s, agentNow: NOW, ageMs },
});

/** Runs reads one tick apart from a fresh side; returns every step's events and the last memo. */
function run(side: Side, reads: ReplicationRead[], start?: ReplicationMemo) {
	let memo = start;
	const events: { kind: string; severity: string; summary: string; next: string }[][] = [];
	reads.forEach((read, i) => {
		const step = replicationStep(side, memo, read, NOW + i * TICK);
		memo = step.memo;
		events.push(
			step.events.map((e) => ({
				kind: e.kind,
				severity: e.severity,
				summary: e.summary,
				next: e.next,
			})),
		);
	});
	return { memo, events };
}

const failing = (kind: string, message: string, hint: string) =>
	status({ pendingCommits: 2, oldestPendingAgeMs: 30_000, problem: problem(kind, message, hint) });

describe("a problem is a warning once per reason, with the reason and the hint", () => {
	const cases: {
		name: string;
		side: Side;
		s: ReplicationStatus;
		kind: string;
		summary: RegExp;
		next: RegExp;
	}[] = [
		{
			name: "push failed: auth",
			side: "primary",
			s: failing(
				"auth",
				"git push to origin/main failed: Permission denied (publickey)",
				"the agent's user cannot write to the remote: give it a deploy key",
			),
			kind: "replication-failing",
			summary:
				/^the primary's workspace replication: pushes are refused: no write access .*last push 12 s ago, 2 commit\(s\) pending.*Permission denied \(publickey\)/,
			next: /^The agent's user cannot write to the remote: give it a deploy key\. See docs\/runbook\.md/,
		},
		{
			name: "push failed: network",
			side: "primary",
			s: failing(
				"remote-unreachable",
				"git push to origin/main failed: ssh: connect to host git.example port 22: Connection timed out",
				"the remote cannot be reached: check DNS and the network",
			),
			kind: "replication-failing",
			summary: /the remote cannot be reached.*Connection timed out/,
			next: /^The remote cannot be reached: check DNS/,
		},
		{
			name: "push failed: rejected",
			side: "standby",
			s: failing(
				"push-rejected",
				"git push to origin/main failed: ! [remote rejected] main -> main (pre-receive hook declined)",
				"the remote refuses this push (branch protection, a hook, or history that moved)",
			),
			kind: "replication-failing",
			summary:
				/^the standby's workspace replication: the remote rejects the push .*pre-receive hook declined/,
			next: /branch protection/,
		},
		{
			name: "stalled",
			side: "primary",
			s: failing(
				"stalled",
				"commits unpushed for over 300 s: git push to origin/main failed: Connection refused",
				"the remote cannot be reached",
			),
			kind: "replication-failing",
			summary:
				/stalled: commits are not reaching the remote.*unpushed for over 300 s: .*Connection refused/,
			next: /^The remote cannot be reached/,
		},
		{
			name: "mass deletion held",
			side: "primary",
			s: status({
				problem: problem(
					"mass-deletion-held",
					"40 tracked files were deleted at once (over 50% of the workspace): not replicated",
					"if the deletion is intended, commit it by hand in the workspace",
				),
			}),
			kind: "replication-held",
			summary: /^the primary's agent holds a mass deletion for the operator: 40 tracked files/,
			next: /commit it by hand/,
		},
		{
			name: "lease lost: commits held on the failover branch",
			side: "primary",
			s: status({
				mode: "held",
				leaseTerm: 1,
				leaseExpiresInMs: -5_000,
				pendingCommits: 3,
				oldestPendingAgeMs: 60_000,
				heldBranch: "failover/primary-20260101T120000Z",
				problem: problem(
					"held",
					"no fresh lease naming primary active: 3 commit(s) kept on failover/primary-20260101T120000Z, not on main",
					"they go to the main branch when the lease returns; after a failover the sync merges them",
				),
			}),
			kind: "replication-held",
			summary:
				/^the primary's agent holds 3 commit\(s\) on failover\/primary-20260101T120000Z, not on the main branch/,
			next: /when the lease returns/,
		},
		{
			name: "merge conflicts",
			side: "primary",
			s: status({
				problem: problem(
					"merge-conflicts",
					"conflicting paths took origin/main's version: MEMORY.md, memory/2026-01-01.md; primary's versions are on failover/primary-20260101T120000Z",
					"reconcile by hand: git diff main failover/primary-20260101T120000Z -- <path>, commit the merged file on the active side, then delete the branch",
				),
			}),
			kind: "replication-conflict",
			summary:
				/both had changed the same paths: .*MEMORY\.md, memory\/2026-01-01\.md; primary's versions are on failover\/primary-20260101T120000Z\. Nothing is lost/,
			next: /^Reconcile by hand: git diff main failover\/primary-20260101T120000Z -- <path>/,
		},
	];
	for (const c of cases) {
		it(`${c.name}: one ${c.kind} warning, none while the reason stays`, () => {
			const { events, memo } = run(c.side, [report(c.s), report(c.s), report(c.s)]);
			expect(events[0]).toHaveLength(1);
			const e = events[0]?.[0];
			expect(e?.kind).toBe(c.kind);
			expect(e?.severity).toBe("warning");
			expect(e?.summary).toMatch(c.summary);
			expect(e?.next).toMatch(c.next);
			expect(events.slice(1)).toEqual([[], []]);
			expect(memo?.raised?.kind).toBe(c.s.problem?.kind);
		});
	}
});

describe("reasons: a changed reason is told again, a moving number is not", () => {
	const auth = failing("auth", "git push failed: Permission denied (publickey)", "give it a key");
	const net = failing("remote-unreachable", "git push failed: Connection refused", "check DNS");
	const held = (n: number, age: number) =>
		status({
			mode: "held",
			pendingCommits: n,
			heldBranch: "failover/primary-20260101T120000Z",
			problem: problem(
				"held",
				`no fresh lease naming primary active: ${n} commit(s) kept on failover/primary-20260101T120000Z, not on main`,
				"they go to the main branch when the lease returns",
			),
			oldestPendingAgeMs: age,
		});

	it("auth, then network: a second warning; back to auth: a third", () => {
		const { events } = run("primary", [report(auth), report(net), report(net), report(auth)]);
		expect(events.map((e) => e.map((x) => x.kind))).toEqual([
			["replication-failing"],
			["replication-failing"],
			[],
			["replication-failing"],
		]);
		expect(events[1]?.[0]?.summary).toMatch(/cannot be reached/);
	});

	it("held with a growing commit count is one warning", () => {
		const { events } = run("primary", [
			report(held(1, 5_000)),
			report(held(2, 10_000)),
			report(held(17, 15_000)),
		]);
		expect(events.map((e) => e.length)).toEqual([1, 0, 0]);
	});

	it("stalled keeps its raised problem until it recovers, and a changed reason underneath is told", () => {
		const stalled = (why: string) =>
			failing("stalled", `commits unpushed for over 300 s: ${why}`, "see the agent's log");
		const { events, memo } = run("primary", [
			report(stalled("git push failed: Connection refused")),
			report(stalled("git push failed: Connection refused")),
			report(stalled("git push failed: Permission denied (publickey)")),
		]);
		expect(events.map((e) => e.length)).toEqual([1, 0, 1]);
		expect(replicationProblems({ primary: memo as ReplicationMemo })).toEqual([
			"the primary's workspace replication: stalled: commits are not reaching the remote",
		]);
	});

	it("numbers and commit ids do not make a new reason; words do", () => {
		expect(reasonKey("stalled", "unpushed for over 300 s, 3 pending at 1a2b3c4d")).toBe(
			reasonKey("stalled", "unpushed for over 612 s, 9 pending at 99ffee0011"),
		);
		expect(reasonKey("git-failed", "exit 128: fatal: bad object")).not.toBe(
			reasonKey("git-failed", "exit 128: fatal: not a git repository"),
		);
		expect(reasonKey("auth", "x")).not.toBe(reasonKey("push-rejected", "x"));
	});
});

describe("the watchdog's own stall net", () => {
	const quiet = (oldestAgeMs: number, over: Partial<ReplicationStatus> = {}) =>
		status({
			pendingCommits: 5,
			oldestPendingAgeMs: oldestAgeMs,
			lastPushAgeMs: oldestAgeMs,
			...over,
		});

	it("an active side with commits older than WATCHDOG_STALL_MS and no problem reported is stalled, until they go out", () => {
		const { events, memo } = run("primary", [
			report(quiet(WATCHDOG_STALL_MS - 60_000)),
			report(quiet(WATCHDOG_STALL_MS + 1_000)),
			report(quiet(WATCHDOG_STALL_MS + 6_000)),
			report(status()),
		]);
		expect(events.map((e) => e.map((x) => x.kind))).toEqual([
			[],
			["replication-failing"],
			[],
			["condition-cleared"],
		]);
		expect(events[1]?.[0]?.summary).toMatch(
			/stalled.*the agent reports no problem \(seen by the watchdog\)/,
		);
		expect(memo?.raised).toBeNull();
	});

	it("says nothing while held, with nothing pending, or when the agent names its own problem", () => {
		const old = WATCHDOG_STALL_MS * 2;
		const { events } = run("primary", [
			report(quiet(old, { mode: "held", problem: null })),
			report(quiet(old, { pendingCommits: 0, oldestPendingAgeMs: null })),
		]);
		expect(events).toEqual([[], []]);
		const own = run("primary", [report(quiet(old, { problem: problem("auth", "denied", "key") }))]);
		expect(own.memo?.facts?.problem?.kind).toBe("auth");
	});
});

describe("recovery", () => {
	const auth = failing("auth", "git push failed: Permission denied", "give it a key");

	it("a cleared problem is one info event; the problems list empties", () => {
		const { events, memo } = run("primary", [report(auth), report(status()), report(status())]);
		expect(events[1]).toEqual([
			expect.objectContaining({
				kind: "condition-cleared",
				severity: "info",
				summary: expect.stringMatching(
					/^the primary's workspace replication is healthy again: mode active, 0 commit\(s\) pending; last push 12 s ago \(was: pushes are refused/,
				),
			}),
		]);
		expect(events[2]).toEqual([]);
		expect(memo?.raised).toBeNull();
		expect(replicationProblems({ primary: memo as ReplicationMemo })).toEqual([]);
	});

	it("held commits back on the main branch clear the held warning", () => {
		const held = status({
			mode: "held",
			pendingCommits: 2,
			heldBranch: "failover/standby-20260101T120000Z",
			problem: problem("held", "no fresh lease: 2 commit(s) kept", "wait for the lease"),
		});
		const { events } = run("standby", [report(held), report(status({ mode: "standby" }))]);
		expect(events[1]?.map((e) => e.kind)).toEqual(["condition-cleared"]);
		expect(events[1]?.[0]?.summary).toMatch(
			/mode standby.*\(was: commits are held on a failover branch/,
		);
	});

	it("merge conflicts clear silently (a fact about one merge, not a standing problem)", () => {
		const conflicts = status({
			problem: problem("merge-conflicts", "conflicting paths took x: a.md", "reconcile"),
		});
		const { events, memo } = run("primary", [report(conflicts), report(status())]);
		expect(events.map((e) => e.map((x) => x.kind))).toEqual([["replication-conflict"], []]);
		expect(memo?.raised).toBeNull();
		// Never a standing problem either.
		const first = replicationStep("primary", undefined, report(conflicts), NOW).memo;
		expect(replicationProblems({ primary: first as ReplicationMemo })).toEqual([]);
	});
});

describe("refused paths are reported once each, with the path", () => {
	it("the first report names them all; the same list again says nothing; a new one is named alone", () => {
		const { events, memo } = run("primary", [
			report(status({ refused: ["big.bin", ".env"] })),
			report(status({ refused: ["big.bin", ".env"] })),
			report(status({ refused: ["vendor/repo", "big.bin", ".env"] })),
		]);
		expect(events[0]).toEqual([
			expect.objectContaining({
				kind: "replication-refused",
				severity: "warning",
				summary: "the primary's agent does not replicate 2 path(s): big.bin, .env",
			}),
		]);
		expect(events[1]).toEqual([]);
		expect(events[2]?.map((e) => e.summary)).toEqual([
			"the primary's agent does not replicate 1 path(s): vendor/repo",
		]);
		expect(memo?.facts?.refusedCount).toBe(3);
		expect(memo?.refusedSeen).toHaveLength(3);
	});

	it("an agent restart that rebuilds the same list reports nothing again", () => {
		const a = run("standby", [report(status({ refused: ["a.bin", "b.bin"] }))]);
		const b = run(
			"standby",
			[report(status({ refused: ["b.bin"] })), report(status({ refused: ["a.bin", "b.bin"] }))],
			a.memo,
		);
		expect(b.events).toEqual([[], []]);
	});

	it("a long list names ten and counts the rest; what is remembered stays bounded", () => {
		const paths = Array.from({ length: 32 }, (_, i) => `cache/f${i}.bin`);
		const first = run("primary", [report(status({ refused: paths }))]);
		expect(first.events[0]?.[0]?.summary).toMatch(
			/32 path\(s\): cache\/f0\.bin, .*cache\/f9\.bin and 22 more$/,
		);
		let memo = first.memo;
		for (let round = 1; round <= 4; round++) {
			const more = Array.from({ length: 32 }, (_, i) => `r${round}/f${i}.bin`);
			memo = replicationStep("primary", memo, report(status({ refused: more })), NOW).memo;
		}
		expect(memo?.refusedSeen.length).toBe(64);
	});
});

describe("agents that say nothing, or that replication is off", () => {
	it("an older agent without the field: no memo, no events", () => {
		expect(replicationStep("primary", undefined, { kind: "not-reported" }, NOW)).toEqual({
			memo: undefined,
			events: [],
		});
	});

	it("null (not configured): remembered as off, no events", () => {
		const step = replicationStep("standby", undefined, { kind: "off" }, NOW);
		expect(step.events).toEqual([]);
		expect(step.memo).toEqual({ seenAt: NOW, facts: null, raised: null, refusedSeen: [] });
	});

	it("replication turned off while a problem stood: the problem clears once", () => {
		const { events } = run("primary", [
			report(failing("auth", "denied", "key")),
			{ kind: "off" },
			{ kind: "off" },
		]);
		expect(events.map((e) => e.map((x) => x.kind))).toEqual([
			["replication-failing"],
			["condition-cleared"],
			[],
		]);
	});

	it("a side not read this tick (unreachable, not asked) keeps its memo as it was", () => {
		const first = replicationStep(
			"primary",
			undefined,
			report(failing("auth", "denied", "k")),
			NOW,
		);
		const same = replicationStep("primary", first.memo, { kind: "not-read" }, NOW + TICK);
		expect(same.memo).toBe(first.memo);
		expect(same.events).toEqual([]);
	});

	it("reads of the views: unreachable and absent are not-read, a missing field is not-reported", () => {
		expect(replicationRead(undefined)).toEqual({ kind: "not-read" });
		expect(replicationRead({ reachable: false, reason: "x" })).toEqual({ kind: "not-read" });
		const base = { reachable: true as const, term: 1, gateway: null, maintenanceUntil: null };
		expect(replicationRead(base)).toEqual({ kind: "not-reported" });
		expect(replicationRead({ ...base, replication: null })).toEqual({ kind: "off" });
		const r = { status: status(), agentNow: NOW, ageMs: 0 };
		expect(replicationRead({ ...base, replication: r })).toEqual({ kind: "report", report: r });
	});
});

describe("facts on the Worker's clock", () => {
	it("ages count back from when the status was written; agent times move by the agent's clock offset", () => {
		// The agent's clock runs 60 s fast and its status was pushed 2 s before the tick read it.
		const agentNow = NOW + 60_000 - 2_000;
		const f = factsOf(
			{
				status: status({
					mode: "standby",
					lastPushAgeMs: 30_000,
					pendingCommits: 1,
					oldestPendingAgeMs: 10_000,
					behindCommits: 4,
					lastFetchAt: agentNow - 5_000,
					problem: {
						kind: "git-failed",
						message: "m".repeat(2000),
						hint: "h",
						since: agentNow - 7_000,
					},
				}),
				agentNow,
				ageMs: 2_000,
			},
			NOW,
		);
		expect(f).toMatchObject({
			mode: "standby",
			lastPushAt: NOW - 2_000 - 30_000,
			oldestPendingAt: NOW - 2_000 - 10_000,
			behindCommits: 4,
			lastFetchAt: NOW - 2_000 - 5_000,
			pendingCommits: 1,
		});
		expect(f.problem?.since).toBe(NOW - 2_000 - 7_000);
		expect(f.problem?.message).toHaveLength(512);
	});
});
