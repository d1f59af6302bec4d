// A pure tick simulator for decide(): a scripted world, a fake standby agent with an op cache, and a timeline.
import type { PairConfig } from "../../../worker/src/config";
import { decide, initialState } from "../../../worker/src/decide";
import type {
	Command,
	CommandOutcome,
	CommandResult,
	Decision,
	GatewayReport,
	Observation,
	OperatorCommand,
	PairEvent,
	PairState,
	PrimaryAgentView,
	ProbeResult,
	StandbyView,
	TailscaleView,
} from "../../../worker/src/types";
import { deepFreeze, OK, T0 } from "./decide-fixtures";
import { checkDecision } from "./decide-invariants";

/** What the world looks like at tick t. Every function is optional except the Worker's probe. */
export interface World {
	/** The Worker's probe of the primary. */
	worker(t: number): ProbeResult;
	/** The standby agent's own probe of the primary: up, down, stale, or not configured. Default: same as the Worker's. */
	standbySees?(t: number): "up" | "down" | "stale" | "none";
	/** Whether the Worker can reach the standby agent (status and commands). Default: yes. */
	standbyReachable?(t: number): boolean;
	tailscale?(t: number): TailscaleView | undefined;
	/** An operator command applied before the tick. */
	operator?(t: number): OperatorCommand | undefined;
	/** The primary's agent view (restart grace, maintenance). Default: not configured. */
	primaryAgent?(t: number): PrimaryAgentView | undefined;
	/** The standby's own gateway, as its agent reports it. Default: no report (old agent: gatewayActive). */
	standbyGateway?(t: number, serving: boolean): GatewayReport | undefined;
}

export interface AgentBehaviour {
	/** Ticks a promote/demote takes after it is accepted (0: done on the first answer). */
	ticksToFinish: number;
	/** Every command is refused (forged, replayed or wrongly signed requests). */
	rejectAll?: boolean;
	/** Runs of `action` that end "failed" (1-based count per action). */
	fails?(action: Command["action"], run: number): boolean;
}

interface Op {
	cmd: Command;
	doneAt: number;
	/** Decided when the op starts, reported when it finishes. */
	willFail: boolean;
	/** Set once finished; every later request for this op id gets it again. */
	result: CommandResult | null;
}

/** A standby agent that honours the protocol: highest term wins, a repeated op id returns the first result. */
export class FakeAgent {
	term = 0;
	gatewayActive = false;
	readonly ops = new Map<string, Op>();
	/** How many times each action actually ran (not polls). */
	readonly runs = { promote: 0, demote: 0, sync: 0 };
	private busyUntil = 0;

	constructor(private readonly b: AgentBehaviour) {}

	handle(cmd: Command, t: number): { result: CommandResult; detail: string } {
		if (this.b.rejectAll) return { result: "rejected", detail: "invalid signature" };
		const known = this.ops.get(cmd.opId);
		if (known) return this.progress(known, t);
		if (cmd.term < this.term) {
			return { result: "rejected", detail: `stale term ${cmd.term} < ${this.term}` };
		}
		this.term = cmd.term;
		this.runs[cmd.action] += 1;
		// Actions run one at a time: a new one starts when the previous has finished.
		const start = Math.max(t, this.busyUntil);
		const willFail = this.b.fails?.(cmd.action, this.runs[cmd.action]) ?? false;
		const op: Op = { cmd, doneAt: start + this.b.ticksToFinish, willFail, result: null };
		this.ops.set(cmd.opId, op);
		this.busyUntil = op.doneAt;
		return this.progress(op, t);
	}

	private progress(op: Op, t: number): { result: CommandResult; detail: string } {
		if (op.result) return { result: op.result, detail: "replayed first result" };
		if (t < op.doneAt) return { result: "running", detail: `${op.doneAt - t} ticks to go` };
		op.result = op.willFail ? "failed" : "succeeded";
		if (!op.willFail && op.cmd.action === "promote") this.gatewayActive = true;
		if (!op.willFail && op.cmd.action === "demote") this.gatewayActive = false;
		return { result: op.result, detail: op.willFail ? "step exited 1" : "done" };
	}
}

export interface TickRecord {
	t: number;
	now: number;
	/** State after everything that happened in this tick. */
	state: PairState;
	decisions: Decision[];
	sent: Command[];
	outcomes: CommandOutcome[];
}

export interface SimResult {
	ticks: TickRecord[];
	agent: FakeAgent;
	final: PairState;
	/** Every event with the tick it happened in. */
	events: (PairEvent & { t: number })[];
	/** Every command sent, with the tick. */
	sent: (Command & { t: number })[];
	/** First tick whose end state satisfies `pred`, or -1. */
	firstTick(pred: (s: PairState) => boolean): number;
	/** First tick in which a command of this action was sent for the first time (a new op id), or -1. */
	firstSent(action: Command["action"]): number;
	/** Distinct op ids sent for an action, in order. */
	opIds(action: Command["action"]): string[];
	notified(kind?: PairEvent["kind"]): (PairEvent & { t: number })[];
}

export interface SimOptions {
	ticks: number;
	config: PairConfig;
	world: World;
	agent?: AgentBehaviour;
	start?: PairState;
}

/** Runs the world for `ticks` probe intervals; every decision is checked against the invariants. */
export function simulate(o: SimOptions): SimResult {
	const cfg = o.config;
	const step = cfg.probeIntervalSeconds * 1000;
	const agent = new FakeAgent(o.agent ?? { ticksToFinish: 2 });
	const w = o.world;
	let state = o.start ?? initialState(T0);
	const ticks: TickRecord[] = [];

	for (let t = 0; t < o.ticks; t++) {
		const now = T0 + t * step;
		const rec: TickRecord = { t, now, state, decisions: [], sent: [], outcomes: [] };
		const reachable = w.standbyReachable?.(t) ?? true;
		const apply = (obs: Observation) => {
			// Frozen: decide() must never write to its input (ES modules are strict, so a write throws).
			const d = decide(deepFreeze(state), deepFreeze(obs), cfg, now);
			checkDecision(state, obs, d, cfg, now);
			rec.decisions.push(d);
			state = d.state;
			return d.commands;
		};
		const queue: Command[] = [];
		const opCmd = w.operator?.(t);
		if (opCmd) queue.push(...apply({ kind: "operator", command: opCmd }));
		const tick: Observation = { kind: "tick", probe: w.worker(t) };
		const sv = standbyView(w, t, reachable, agent);
		if (sv) tick.standby = sv;
		const ts = w.tailscale?.(t);
		if (ts) tick.tailscale = ts;
		const pa = w.primaryAgent?.(t);
		if (pa) tick.primaryAgent = pa;
		queue.push(...apply(tick));
		// Send what decide() asked for; a retry it returns is sent at once (the shell does the same).
		for (let sends = 0; queue.length > 0; sends++) {
			if (sends > 20) throw new Error(`tick ${t}: more than 20 commands in one tick`);
			const c = queue.shift() as Command;
			rec.sent.push(c);
			const r =
				c.target === "primary"
					? { result: "succeeded" as const, detail: "pulled" }
					: reachable
						? agent.handle(c, t)
						: { result: "unreachable" as const, detail: "timeout after 4000 ms" };
			const outcome: CommandOutcome = {
				action: c.action,
				term: c.term,
				opId: c.opId,
				result: r.result,
				detail: r.detail,
			};
			rec.outcomes.push(outcome);
			queue.push(...apply({ kind: "command", outcome }));
		}
		rec.state = state;
		ticks.push(rec);
	}

	const events = ticks.flatMap((r) =>
		r.decisions.flatMap((d) => d.events.map((e) => ({ ...e, t: r.t }))),
	);
	const sent = ticks.flatMap((r) => r.sent.map((c) => ({ ...c, t: r.t })));
	return {
		ticks,
		agent,
		final: state,
		events,
		sent,
		firstTick: (pred) => ticks.find((r) => pred(r.state))?.t ?? -1,
		firstSent: (action) => sent.find((c) => c.action === action)?.t ?? -1,
		opIds: (action) => [...new Set(sent.filter((c) => c.action === action).map((c) => c.opId))],
		notified: (kind) => events.filter((e) => e.notify && (kind === undefined || e.kind === kind)),
	};
}

function standbyView(w: World, t: number, reachable: boolean, agent: FakeAgent): StandbyView {
	if (!reachable) return { reachable: false, reason: "timeout after 4000 ms" };
	const sees = w.standbySees?.(t) ?? (w.worker(t).ok ? "up" : "down");
	const gateway = w.standbyGateway?.(t, agent.gatewayActive);
	const base = {
		reachable: true as const,
		term: agent.term,
		gatewayActive: agent.gatewayActive,
		...(gateway ? { gateway } : {}),
	};
	if (sees === "none") return { ...base, primary: null };
	const ok = sees === "up";
	return {
		...base,
		primary: {
			ok,
			consecutiveFailures: ok ? 0 : 3,
			consecutiveSuccesses: ok ? 3 : 0,
			ageMs: sees === "stale" ? 120_000 : 1_500,
		},
	};
}

/** Helpers to script a world. */
export const up = (): ProbeResult => OK;
export function downBetween(
	from: number,
	to: number,
	fail: ProbeResult,
): (t: number) => ProbeResult {
	return (t) => (t >= from && t < to ? fail : OK);
}
