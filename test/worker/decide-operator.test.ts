// decide() on operator commands: pause, resume, promote, demote, failback, drill in every state.
import { describe, expect, it } from "vitest";
import type { OperatorCommand, PairState } from "../../worker/src/types";
import { cmd, NOW, op, pending, run, st } from "./support/decide-fixtures";
import {
	BD,
	BDD,
	BDP,
	BDS,
	DEM,
	HELD,
	HELD_S,
	PA,
	PAS,
	PAUSED,
	PAUSED_PROM,
	PROM,
	SA,
	SP,
} from "./support/decide-states";
import { checkRow, type Row, type Want } from "./support/decide-table";

type Cell = Want | RegExp;

/** state label, input state, and what each operator command does there (a RegExp = refused with that reason). */
// reset-term has its own table (decide-terms.test.ts).
const MATRIX: [string, Partial<PairState>, Record<Exclude<OperatorCommand, "reset-term">, Cell>][] =
	[
		[
			"primary-active",
			PA,
			{
				pause: paused("primary-active"),
				resume: /resume applies to a paused or held pair; this pair is primary-active/,
				promote: forced(2),
				demote: /applies when the standby is active; the primary is active/,
				failback: /applies when the standby is active/,
				drill: drilling(2),
			},
		],
		[
			"primary-active with a sync in flight",
			PAS,
			{
				pause: paused("primary-active"),
				resume: /resume applies/,
				promote: forced(3),
				demote: /the primary is active/,
				failback: /the primary is active/,
				drill: drilling(3),
			},
		],
		[
			"promoting",
			PROM,
			{
				pause: paused("promoting"),
				resume: /resume applies/,
				promote: /a promote is already in progress/,
				demote: /the primary is active/,
				failback: /the primary is active/,
				drill: /a drill starts from primary-active; this pair is promoting/,
			},
		],
		[
			"standby-active",
			SA,
			{
				pause: paused("standby-active"),
				resume: /resume applies/,
				promote: /the standby is already active/,
				demote: demoting(),
				failback: demoting(),
				drill: /a drill starts from primary-active; this pair is standby-active/,
			},
		],
		[
			"demoting",
			DEM,
			{
				pause: paused("demoting"),
				resume: /resume applies/,
				promote: /the standby is already active/,
				demote: /a demote is already in progress/,
				failback: /a demote is already in progress/,
				drill: /this pair is demoting/,
			},
		],
		[
			"suspect-partition",
			SP,
			{
				pause: paused("suspect-partition"),
				resume: /resume applies/,
				promote: forced(2),
				demote: /the primary is active/,
				failback: /the primary is active/,
				drill: /this pair is suspect-partition/,
			},
		],
		[
			"paused",
			PAUSED,
			{
				pause: /already paused/,
				resume: { state: "primary-active", events: ["resumed"] },
				promote: /paused: resume it first/,
				demote: /paused: resume it first/,
				failback: /paused: resume it first/,
				drill: /this pair is paused/,
			},
		],
		[
			"paused mid-promotion",
			PAUSED_PROM,
			{
				pause: /already paused/,
				resume: {
					state: "promoting",
					events: ["resumed"],
					commands: [cmd("promote", 2)],
					pending: "same",
				},
				promote: /paused: resume it first/,
				demote: /paused: resume it first/,
				failback: /paused: resume it first/,
				drill: /this pair is paused/,
			},
		],
		[
			"held on the primary",
			HELD,
			{
				pause: paused("held"),
				resume: {
					state: "primary-active",
					events: ["resumed"],
					check: (s) => expect(s.failovers).toEqual([]),
				},
				promote: forced(4),
				demote: /the primary is active/,
				failback: /the primary is active/,
				drill: /this pair is held/,
			},
		],
		[
			"held on the standby",
			HELD_S,
			{
				pause: paused("held"),
				resume: { state: "standby-active", events: ["resumed"] },
				promote: /the standby is already active/,
				demote: demoting(),
				failback: /failback applies in standby-active; this pair is held \(use demote to force\)/,
				drill: /this pair is held/,
			},
		],
		[
			"both-down",
			BD,
			{
				pause: paused("both-down"),
				resume: /resume applies/,
				promote: forced(2),
				demote: /the primary is active/,
				failback: /the primary is active/,
				drill: /this pair is both-down/,
			},
		],
		[
			"both-down with a promote cut off",
			BDP,
			{
				pause: paused("both-down"),
				resume: /resume applies/,
				promote: /a promote is already in progress/,
				demote: /the primary is active/,
				failback: /the primary is active/,
				drill: /this pair is both-down/,
			},
		],
		[
			"both-down on the standby",
			BDS,
			{
				pause: paused("both-down"),
				resume: /resume applies/,
				promote: /the standby is already active/,
				demote: demoting(),
				failback: /failback applies in standby-active/,
				drill: /this pair is both-down/,
			},
		],
		[
			"both-down with a demote cut off",
			BDD,
			{
				pause: paused("both-down"),
				resume: /resume applies/,
				promote: /the standby is already active/,
				demote: /a demote is already in progress/,
				failback: /a demote is already in progress/,
				drill: /this pair is both-down/,
			},
		],
	];

function paused(from: PairState["state"]): Want {
	return {
		state: "paused",
		events: ["paused"],
		pending: "same",
		check: (s) => expect(s.resumeTo).toBe(from),
	};
}

function forced(term: number): Want {
	return {
		state: "promoting",
		term,
		commands: [cmd("promote", term)],
		events: ["operator", "promoting"],
		pending: pending("promote", term, 1, NOW),
		check: (s) => expect(s.failovers).toContain(NOW),
	};
}

function drilling(term: number): Want {
	return {
		state: "promoting",
		term,
		commands: [cmd("promote", term)],
		events: ["drill"],
		pending: pending("promote", term, 1, NOW),
		// A drill is a test: it does not count toward flap damping.
		check: (s) => {
			expect(s.failovers).not.toContain(NOW);
			expect(s.drill).toEqual({ startedAt: NOW });
		},
	};
}

function demoting(): Want {
	return {
		state: "demoting",
		commands: [cmd("demote", 2)],
		events: ["demoting"],
		pending: pending("demote", 2, 1, NOW),
	};
}

const ROWS: Row[] = MATRIX.flatMap(([label, from, cells]) =>
	(Object.entries(cells) as [OperatorCommand, Cell][]).map(([command, cell]) => ({
		name: `${label}: ${command} -> ${cell instanceof RegExp ? "refused" : cell.state}`,
		from,
		obs: op(command),
		want: cell instanceof RegExp ? { state: from.state ?? "primary-active", refused: cell } : cell,
	})),
);

describe("operator commands", () => {
	it.each(ROWS)("$name", (row) => checkRow(row));

	it("resume from a pause taken in suspect-partition re-announces the partition on the next tick", () => {
		const d = run(st({ ...SP, state: "paused", resumeTo: "suspect-partition" }), op("resume"));
		expect(d.state.state).toBe("suspect-partition");
		expect(d.state.announced).toEqual([]);
	});

	it("a forced promotion counts toward flap damping like any other", () => {
		const d = run(st(PA), op("promote"));
		expect(d.state.failovers).toEqual([NOW]);
	});

	it("a forced promotion is allowed past the flap limit (the operator decides)", () => {
		const d = run(st({ ...PA, failovers: [NOW - 3_000, NOW - 2_000, NOW - 1_000] }), op("promote"));
		expect(d.state.state).toBe("promoting");
		expect(d.state.failovers).toHaveLength(4);
	});
});
