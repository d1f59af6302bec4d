// Invariants every decide() step must keep, checked after each call by the simulator and the randomized test.

import { MAX_TERM } from "../../../protocol/terms";
import type { PairConfig } from "../../../worker/src/config";
import { opIdFor } from "../../../worker/src/decide";
import {
	type Decision,
	type Observation,
	type PairState,
	STATE_NAMES,
	type StateName,
} from "../../../worker/src/types";

const HOUR_MS = 3_600_000;
const TERMINAL = new Set(["succeeded", "failed", "rejected", "unsupported"]);

/** Throws with a message naming the broken rule; cheap enough to run on every step of a long simulation. */
export function checkDecision(
	input: PairState,
	obs: Observation,
	d: Decision,
	cfg: PairConfig,
	now: number,
): void {
	const s = d.state;
	const fail = (rule: string): never => {
		throw new Error(
			`invariant broken: ${rule}\n input: ${JSON.stringify(input)}\n obs: ${JSON.stringify(obs)}\n out: ${JSON.stringify(d)}`,
		);
	};
	if (!(STATE_NAMES as readonly string[]).includes(s.state)) fail(`unknown state ${s.state}`);
	// Only the operator's reset-term may lower the term (undoing a poisoned one).
	if (s.term < input.term && !(obs.kind === "operator" && obs.command === "reset-term"))
		fail("term decreased");
	if (s.term > MAX_TERM) fail("term above MAX_TERM");

	// Shape of each state.
	const want: Record<StateName, () => boolean> = {
		"primary-active": () => s.active === "primary" && (!s.pending || s.pending.action === "sync"),
		"suspect-partition": () =>
			s.active === "primary" && (!s.pending || s.pending.action === "sync"),
		// A decided promotion either has its promote in flight, or waits for the fencing wait to end.
		promoting: () =>
			s.active === "primary" &&
			(s.pending?.action === "promote" || (s.pending === null && s.promoteAfter != null)),
		"standby-active": () => s.active === "standby" && s.pending === null,
		demoting: () => s.active === "standby" && s.pending?.action === "demote",
		"both-down": () => true,
		paused: () => s.resumeTo !== null,
		held: () => !s.pending || s.pending.action === "sync",
	};
	if (!want[s.state]())
		fail(`inconsistent ${s.state} (active ${s.active}, pending ${s.pending?.action})`);
	if ((s.state === "paused") !== (s.resumeTo !== null)) fail("resumeTo set outside paused");
	if (s.failovers.some((t) => now - t >= HOUR_MS)) fail("failovers older than an hour kept");

	// A promote or demote in flight is forgotten only once the agent has said how it ended.
	const ip = input.pending;
	if (ip && ip.action !== "sync" && s.pending?.opId !== ip.opId) {
		const resolved =
			obs.kind === "command" && obs.outcome.opId === ip.opId && TERMINAL.has(obs.outcome.result);
		if (!resolved) fail(`pending ${ip.opId} dropped without a final answer`);
	}

	// Commands: only the pending one, with an op id from opIdFor, to the right agent.
	if (d.commands.length > 1) fail("more than one command in one decision");
	for (const c of d.commands) {
		if (!s.pending || s.pending.opId !== c.opId) fail(`command ${c.opId} is not the pending one`);
		// Attempts up to the schema's maximum: a pending op may predate a lowered commandAttempts.
		const ids = Array.from({ length: 10 }, (_, i) => opIdFor(cfg.name, c.action, c.term, i + 1));
		if (!ids.includes(c.opId)) fail(`op id ${c.opId} not from opIdFor`);
		if (c.target !== (c.action === "sync" ? "primary" : "standby")) fail("wrong target");
		if (c.term > s.term) fail("command term above the pair's term");
		if (c.action === "promote") {
			if (input.active !== "primary") fail("promote while the standby is active");
			if (c.term !== s.term) fail("promote without the current term");
		}
		if (c.action === "demote" && s.active !== "standby") fail("demote while the primary is active");
	}

	// Refusals change nothing.
	if (d.refused !== undefined) {
		if (obs.kind !== "operator") fail("refused a non-operator observation");
		if (d.commands.length || d.events.length) fail("a refusal with output");
		if (s.state !== input.state || s.term !== input.term || s.pending !== input.pending)
			fail("a refusal changed the state");
	}

	// Events form a chain from the input state to the result: each event's `to` is the state right
	// after it, so the last one's `to` is the resulting state.
	let at: StateName = input.state;
	for (const e of d.events) {
		if (e.from !== at) fail(`event ${e.kind} from ${e.from}, expected ${at}`);
		at = e.to;
		if (e.at !== now) fail("event time is not now");
		if (e.evidence.length === 0) fail(`event ${e.kind} without evidence`);
		if (e.severity === "critical" && e.next.trim() === "") fail(`critical ${e.kind} without next`);
		if (e.summary.trim() === "") fail("event without summary");
	}
	if (at !== s.state) fail(`state moved to ${s.state} but events end at ${at}`);
}
