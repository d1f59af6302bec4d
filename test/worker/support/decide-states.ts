// One representative input state per state name (and the variants that matter), shared by the table tests.
import type { PairState } from "../../../worker/src/types";
import { NOW, pending } from "./decide-fixtures";

const MIN = 60_000;

/** Primary serving, term 1, nothing in flight. */
export const PA: Partial<PairState> = { state: "primary-active", active: "primary", term: 1 };
/** Primary serving, two failed probes so far: the next failure reaches the default threshold of 3. */
export const PA2: Partial<PairState> = { ...PA, fails: 2 };
/** Primary serving again after a failback; the primary's pull (sync) is still in flight. */
export const PAS: Partial<PairState> = {
	state: "primary-active",
	active: "primary",
	term: 2,
	activeSince: NOW - MIN,
	pending: pending("sync", 2),
	failovers: [NOW - 20 * MIN],
};
export const PROM: Partial<PairState> = {
	state: "promoting",
	active: "primary",
	term: 2,
	fails: 3,
	pending: pending("promote", 2),
	failovers: [NOW - 10_000],
};
/** Promoting, on the last allowed attempt (commandAttempts defaults to 3). */
export const PROM3: Partial<PairState> = { ...PROM, pending: pending("promote", 2, 3) };
/** Standby serving for two minutes (minActiveSeconds defaults to 60). */
export const SA: Partial<PairState> = {
	state: "standby-active",
	active: "standby",
	term: 2,
	since: NOW - 2 * MIN,
	activeSince: NOW - 2 * MIN,
	fails: 9,
	failovers: [NOW - 3 * MIN],
};
/**
 * Standby serving; the primary has had 5 good probes, one short of recoverThreshold 6, and returned
 * two minutes ago (recoverSeconds defaults to 120).
 */
export const SA5: Partial<PairState> = { ...SA, fails: 0, oks: 5, okSince: NOW - 2 * MIN };
export const DEM: Partial<PairState> = {
	state: "demoting",
	active: "standby",
	term: 2,
	oks: 6,
	activeSince: NOW - 5 * MIN,
	pending: pending("demote", 2),
};
export const DEM3: Partial<PairState> = { ...DEM, pending: pending("demote", 2, 3) };
/** Suspected partition, already announced. */
export const SP: Partial<PairState> = {
	state: "suspect-partition",
	active: "primary",
	term: 1,
	fails: 5,
	announced: ["suspect-partition"],
};
export const PAUSED: Partial<PairState> = {
	state: "paused",
	active: "primary",
	term: 1,
	fails: 2,
	resumeTo: "primary-active",
};
/** Paused in the middle of a promotion. */
export const PAUSED_PROM: Partial<PairState> = {
	...PROM,
	state: "paused",
	resumeTo: "promoting",
};
/** Held by flap damping: three promotions in the last hour. */
export const HELD: Partial<PairState> = {
	state: "held",
	active: "primary",
	term: 3,
	fails: 9,
	failovers: [NOW - 50 * MIN, NOW - 40 * MIN, NOW - 30 * MIN],
};
/** Held on the standby after a failback that kept failing. */
export const HELD_S: Partial<PairState> = { ...SA, state: "held", oks: 20, fails: 0 };
/** Primary failing and the standby agent unreachable; nothing in flight. */
export const BD: Partial<PairState> = {
	state: "both-down",
	active: "primary",
	term: 1,
	fails: 4,
	standbyMisses: 1,
};
/** The standby stopped answering during a promotion. */
export const BDP: Partial<PairState> = {
	state: "both-down",
	active: "primary",
	term: 2,
	fails: 6,
	standbyMisses: 3,
	pending: pending("promote", 2),
	failovers: [NOW - MIN],
};
/** The standby was serving, the primary is down and the standby agent stopped answering. */
export const BDS: Partial<PairState> = {
	state: "both-down",
	active: "standby",
	term: 2,
	fails: 5,
	standbyMisses: 3,
	activeSince: NOW - 10 * MIN,
};
/** The standby agent stopped answering during a failback (the primary is fine). */
export const BDD: Partial<PairState> = {
	...BDS,
	fails: 0,
	oks: 8,
	pending: pending("demote", 2),
};
