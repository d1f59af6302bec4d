// Seeded random observation sequences for decide() property tests: a noisy world and an agent that keeps its word.
import type { PairConfig } from "../../../worker/src/config";
import { decide, initialState } from "../../../worker/src/decide";
import type {
	Command,
	CommandResult,
	Decision,
	Observation,
	OperatorCommand,
	ProbeResult,
	StandbyView,
	TailscaleView,
} from "../../../worker/src/types";
import { cfg, deepFreeze, FAIL, HTTP503, OK, REFUSED, T0 } from "./decide-fixtures";
import { checkDecision } from "./decide-invariants";

const HOUR = 3_600_000;
const TERMINAL = new Set(["succeeded", "failed", "rejected", "unsupported"]);

/** mulberry32: tiny, fast, good enough to explore state space reproducibly. */
export function prng(seed: number): () => number {
	let a = seed >>> 0;
	return () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

export class Rand {
	constructor(readonly next: () => number) {}
	chance(p: number): boolean {
		return this.next() < p;
	}
	int(lo: number, hi: number): number {
		return lo + Math.floor(this.next() * (hi - lo + 1));
	}
	pick<T>(xs: readonly T[]): T {
		return xs[Math.floor(this.next() * xs.length)] as T;
	}
}

/** Small thresholds and windows, so short sequences reach every state. */
export function randomConfig(r: Rand): PairConfig {
	const tailscale = r.chance(0.3);
	const standby = r.chance(0.85);
	const witnessCount = (standby ? 1 : 0) + (tailscale ? 1 : 0);
	const quorums: readonly ("all" | number)[] = ["all", "all", 1, 2];
	return cfg({
		failThreshold: r.int(1, 4),
		recoverThreshold: r.int(1, 4),
		minActiveSeconds: r.pick([0, 10, 30]),
		maxFailoversPerHour: r.int(1, 3),
		failback: r.pick(["auto", "manual"] as const),
		commandAttempts: r.int(1, 3),
		...(r.chance(0.5)
			? { primary: { readyUrl: "http://127.0.0.1:9001/readyz", agentUrl: "http://127.0.0.1:9003" } }
			: {}),
		witnesses: {
			standby,
			...(tailscale ? { tailscale: { deviceId: "nPrimary" } } : {}),
			// A numeric quorum above the witness count is a config error (never met), so never drawn.
			quorum: r.pick(quorums.filter((q) => q === "all" || q <= witnessCount)),
		},
	});
}

interface AgentOp {
	final: CommandResult;
	/** Polls still answered "running". */
	runningFor: number;
}

/**
 * The world: the primary flips between up and down now and then, probes are noisy, the standby
 * agent is sometimes away. Agent ops keep their word: once an op id has a final result, every
 * later answer for it is the same (a repeated id returns the first result).
 */
export class RandomWorld {
	primaryUp = true;
	agentTerm = 0;
	readonly ops = new Map<string, AgentOp>();
	/** Op ids sent so far (for stale outcomes). */
	readonly seen: Command[] = [];

	constructor(
		private readonly r: Rand,
		private readonly c: PairConfig,
	) {}

	tick(): Observation {
		const r = this.r;
		if (r.chance(0.12)) this.primaryUp = !this.primaryUp;
		const seesUp = r.chance(0.1) ? !this.primaryUp : this.primaryUp;
		const probe: ProbeResult = seesUp ? OK : r.pick([FAIL, HTTP503, REFUSED]);
		const o: Observation = { kind: "tick", probe };
		if (r.chance(0.9)) o.standby = this.standby();
		if (this.c.witnesses.tailscale && r.chance(0.8)) o.tailscale = this.tailscale();
		return o;
	}

	private standby(): StandbyView {
		const r = this.r;
		if (r.chance(0.15)) return { reachable: false, reason: "timeout" };
		if (r.chance(0.03)) this.agentTerm += r.int(1, 3); // someone else moved the term
		const term = this.agentTerm;
		if (r.chance(0.05)) return { reachable: true, primary: null, term, gatewayActive: false };
		const ok = r.chance(0.15) ? !this.primaryUp : this.primaryUp;
		return {
			reachable: true,
			term,
			gatewayActive: r.chance(0.5),
			primary: {
				ok,
				consecutiveFailures: ok ? 0 : 2,
				consecutiveSuccesses: ok ? 2 : 0,
				ageMs: r.chance(0.05) ? 90_000 : 1_000,
			},
		};
	}

	private tailscale(): TailscaleView {
		return this.r.chance(0.1) ? { error: "HTTP 502" } : { connected: this.primaryUp };
	}

	/** The agent's answer to a command (a first send or a poll). */
	answer(c: Command): Observation {
		const r = this.r;
		if (!this.seen.some((x) => x.opId === c.opId)) this.seen.push(c);
		let op = this.ops.get(c.opId);
		if (!op) {
			const final: CommandResult =
				c.term < this.agentTerm && r.chance(0.8)
					? "rejected"
					: r.pick([
							"succeeded",
							"succeeded",
							"succeeded",
							"succeeded",
							"failed",
							"rejected",
							"unsupported",
						] as const);
			op = { final, runningFor: r.int(0, 3) };
			this.ops.set(c.opId, op);
			if (final !== "rejected") this.agentTerm = Math.max(this.agentTerm, c.term);
		}
		let result: CommandResult;
		if (r.chance(0.15)) result = "unreachable";
		else if (op.runningFor > 0) {
			op.runningFor -= 1;
			result = "running";
		} else result = op.final;
		return {
			kind: "command",
			outcome: { action: c.action, term: c.term, opId: c.opId, result, detail: "random" },
		};
	}

	/** An answer for some earlier op id (late, duplicated or forged). */
	staleAnswer(): Observation | null {
		if (this.seen.length === 0) return null;
		const c = this.r.pick(this.seen);
		const result = this.r.pick([
			"succeeded",
			"failed",
			"rejected",
			"running",
			"unreachable",
			"unsupported",
		] as const);
		return {
			kind: "command",
			outcome: { action: c.action, term: c.term, opId: c.opId, result, detail: "stale" },
		};
	}

	operator(): Observation {
		const command: OperatorCommand = this.r.pick([
			"pause",
			"resume",
			"resume",
			"promote",
			"demote",
			"failback",
		]);
		return { kind: "operator", command };
	}
}

/** One random walk of `length` steps from initialState; throws on a broken invariant; returns the number of decide() calls. */
export function runSequence(
	seed: number,
	length: number,
	seen: Set<string>,
	onDecision?: (d: Decision, o: Observation, now: number) => void,
): number {
	const r = new Rand(prng(seed));
	const c = randomConfig(r);
	const w = new RandomWorld(r, c);
	let s = initialState(T0);
	let now = T0;
	let calls = 0;
	/** Promote op ids sent whose final answer decide() has not taken in yet. */
	const outstanding = new Map<string, number>();
	/** Promotion starts: when, whether an operator forced it, and whether a resume out of held forgave it. */
	const starts: { at: number; forced: boolean; forgiven: boolean }[] = [];

	const step = (o: Observation): Command[] => {
		const input = deepFreeze(s);
		deepFreeze(o);
		const d = decide(input, o, c, now);
		calls++;
		// Determinism on every step.
		if (JSON.stringify(decide(input, o, c, now)) !== JSON.stringify(d))
			throw new Error("not deterministic");
		checkDecision(input, o, d, c, now);
		onDecision?.(d, o, now);

		if (
			o.kind === "command" &&
			TERMINAL.has(o.outcome.result) &&
			input.pending?.opId === o.outcome.opId &&
			d.state.pending?.opId !== o.outcome.opId
		) {
			outstanding.delete(o.outcome.opId);
		}
		for (const cmd of d.commands) {
			if (cmd.action !== "promote") continue;
			for (const [id, term] of outstanding)
				if (term !== cmd.term)
					throw new Error(`two promotes outstanding: ${id} (term ${term}) and ${cmd.opId}`);
			if (!outstanding.has(cmd.opId) && cmd.opId.endsWith(":a1"))
				starts.push({ at: now, forced: o.kind === "operator", forgiven: false });
			outstanding.set(cmd.opId, cmd.term);
		}
		if (o.kind === "operator" && o.command === "resume" && input.state === "held" && !d.refused)
			for (const x of starts) x.forgiven = true; // resuming out of held clears the damping window
		const inHour = starts.filter((x) => now - x.at < HOUR);
		const forced = inHour.filter((x) => x.forced).length;
		const autoSinceReset = inHour.filter((x) => !x.forced && !x.forgiven).length;
		if (autoSinceReset > c.maxFailoversPerHour)
			throw new Error(`${autoSinceReset} automatic failovers in an hour`);
		if (d.state.failovers.length > c.maxFailoversPerHour + forced)
			throw new Error("failovers over the limit");

		seen.add(d.state.state);
		s = d.state;
		return d.commands;
	};

	for (let i = 0; i < length; i++) {
		const roll = r.next();
		let sent: Command[];
		if (roll < 0.06) sent = step(w.operator());
		else if (roll < 0.09) {
			const stale = w.staleAnswer();
			sent = stale ? step(stale) : [];
		} else {
			now += r.chance(0.02) ? r.int(10, 70) * 60_000 : c.probeIntervalSeconds * 1000;
			sent = step(w.tick());
		}
		// The shell sends what decide() asked for; an answer is sometimes lost (the next tick polls again).
		for (let n = 0; sent.length > 0 && n < 10; n++) {
			const cmd = sent[0] as Command;
			if (r.chance(0.1)) break;
			sent = step(w.answer(cmd));
		}
	}
	return calls;
}
