// Row type and checker for the table-driven decide() tests: one row = one state, one observation, one expectation.
import { expect } from "vitest";
import type { PairConfig } from "../../../worker/src/config";
import type {
	Command,
	EventKind,
	Observation,
	PairState,
	PendingCommand,
	Side,
	StateName,
} from "../../../worker/src/types";
import { cfg, NOW, run, st } from "./decide-fixtures";

export interface Want {
	state: StateName;
	/** Defaults to the input's. */
	active?: Side;
	/** Defaults to the input's. */
	term?: number;
	/** Exactly these commands, in order (default none). */
	commands?: readonly Command[];
	/** Exactly these event kinds, in order (default none). */
	events?: readonly EventKind[];
	/** The operator command is refused with a reason matching this (default: not refused). */
	refused?: RegExp;
	/** The pending command afterwards; "same" = unchanged (default: not checked). */
	pending?: PendingCommand | null | "same";
	/** Extra check on the resulting state. */
	check?: (s: PairState) => void;
}

export interface Row {
	name: string;
	from: Partial<PairState>;
	obs: Observation;
	config?: PairConfig;
	now?: number;
	want: Want;
}

export function checkRow(row: Row): void {
	const input = st(row.from);
	const d = run(input, row.obs, row.config ?? cfg(), row.now ?? NOW);
	const w = row.want;
	expect(d.state.state, "state").toBe(w.state);
	expect(d.state.active, "active").toBe(w.active ?? input.active);
	expect(d.state.term, "term").toBe(w.term ?? input.term);
	expect(d.commands, "commands").toEqual(w.commands ?? []);
	expect(
		d.events.map((e) => e.kind),
		"events",
	).toEqual(w.events ?? []);
	if (w.refused) expect(d.refused, "refused").toMatch(w.refused);
	else expect(d.refused, "refused").toBeUndefined();
	if (w.pending === "same") expect(d.state.pending, "pending").toEqual(input.pending);
	else if (w.pending !== undefined) expect(d.state.pending, "pending").toEqual(w.pending);
	if (d.refused !== undefined) {
		// A refusal changes nothing at all.
		expect(d.state).toEqual({
			...input,
			failovers: input.failovers.filter((t) => (row.now ?? NOW) - t < 3_600_000),
		});
	}
	w.check?.(d.state);
}
