// Seeded random observation sequences for decide() property tests: a noisy world and an agent that keeps its word.

import { MAX_TERM, MAX_TERM_ADOPT_JUMP } from "../../../protocol/terms";
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
import { workerVerdict } from "../../../worker/src/witness";
import { cfg, deepFreeze, FAIL, HTTP503, OK, REFUSED, T0 } from "./decide-fixtures";

/** Refused or misdirected answers (never a down vote). */
const REFUSALS: ProbeResult[] = [403, 401, 404, 405, 301, 302, 307, 429].map((status) => ({
	ok: false,
	reason: "http-status",
	status,
	ms: 9,
}));

import { checkDecision } from "./decide-invariants";

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
		recoverSeconds: r.pick([0, 10, 60]),
		startGraceSeconds: r.pick([0, 15, 60]),
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
		const probe: ProbeResult = r.chance(0.04)
			? r.pick(REFUSALS)
			: seesUp
				? OK
				: r.pick([FAIL, HTTP503, REFUSED]);
		const o: Observation = { kind: "tick", probe };
		if (r.chance(0.9)) o.standby = this.standby();
		if (this.c.witnesses.tailscale && r.chance(0.8)) o.tailscale = this.tailscale();
		if (this.c.primary.agentUrl && r.chance(0.9)) {
			o.primaryAgent = r.chance(0.1)
				? { reachable: false, reason: "timeout" }
				: {
						reachable: true,
						term: this.agentTerm,
						gateway: {
							state: this.primaryUp
								? "ready"
								: r.pick(["starting", "not-ready", "stopped"] as const),
							failing: [],
							detail: "random",
							ageMs: 500,
						},
						maintenanceUntil: r.chance(0.01) ? T0 + r.int(0, 20) * 60_000 : null,
					};
		}
		return o;
	}

	private standby(): StandbyView {
		const r = this.r;
		if (r.chance(0.15)) return { reachable: false, reason: "timeout" };
		if (r.chance(0.03)) this.agentTerm += r.int(1, 3); // someone else moved the term
		// A forged or replayed status now and then reports an absurd term (term poisoning).
		const term = r.chance(0.01) ? r.pick([this.agentTerm + 50, MAX_TERM]) : this.agentTerm;
		if (r.chance(0.05)) return { reachable: true, primary: null, term, gatewayActive: false };
		const ok = r.chance(0.15) ? !this.primaryUp : this.primaryUp;
		return {
			reachable: true,
			term,
			gatewayActive: r.chance(0.5),
			...(r.chance(0.5)
				? {
						gateway: {
							state: r.pick(["ready", "ready", "starting", "not-ready"] as const),
							failing: [],
							detail: "random",
							ageMs: 500,
						},
					}
				: {}),
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
			"reset-term",
		]);
		if (command === "reset-term" && this.r.chance(0.5))
			return { kind: "operator", command, term: this.r.pick([0, this.agentTerm, MAX_TERM]) };
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
			outstanding.set(cmd.opId, cmd.term);
		}
		// Damping holds failbacks, never failovers: a tick never holds the pair (only command failures,
		// an unsendable command or a term at its maximum do).
		if (o.kind === "tick" && d.state.state === "held" && input.state !== "held")
			throw new Error("a tick held the pair");
		const fresh = (action: Command["action"]) =>
			d.commands.some(
				(x) => x.action === action && x.opId.endsWith(":a1") && x.opId !== input.pending?.opId,
			);
		const newDemote = fresh("demote");
		if (o.kind === "tick" && newDemote && input.failbackHeld && input.state === "standby-active") {
			const g = o.standby?.reachable ? o.standby : undefined;
			const notReady = g && (g.gateway ? g.gateway.state !== "ready" : !g.gatewayActive);
			if (!notReady) throw new Error("automatic failback while the failback is held");
		}
		// A refused or misdirected probe is never a down vote: it never starts a promotion.
		const newPromote = fresh("promote");
		if (o.kind === "tick" && newPromote && workerVerdict(o.probe).class !== "down")
			throw new Error(`promotion on a ${workerVerdict(o.probe).class} probe`);
		if (d.state.term > MAX_TERM) throw new Error("term above MAX_TERM");
		if (o.kind === "tick" && d.state.term - input.term > MAX_TERM_ADOPT_JUMP + 1)
			throw new Error(`term jumped ${d.state.term - input.term} on a tick`);

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
