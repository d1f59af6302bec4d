// One pair's turn: gather witnesses, decide, persist, then run decide's commands and feed their outcomes back.
import type { Lease } from "../../protocol";
import type { AgentClient } from "./agent-client";
import { hasAgent, leaseSecondsOf, type PairConfig } from "./config";
import { deadline } from "./deadline";
import { decide, initialState } from "./decide";
import { buildLease } from "./lease";
import { probeHttp } from "./probe";
import type { Store } from "./store";
import type {
	Command,
	CommandOutcome,
	Decision,
	Observation,
	OperatorCommand,
	PairEvent,
	PairState,
	PrimaryAgentView,
	ProbeResult,
	StandbyView,
	TailscaleView,
} from "./types";
import { describeStandby } from "./witness";

// decide() may answer a command outcome with another command (promote -> sync, a retry); past this
// many rounds in one turn the rest waits for the next tick, so a bug can never loop within a tick.
export const MAX_COMMAND_ROUNDS = 3;

// A quick operation (a sync, an idempotent re-send) finishes within the call; a promote that pulls and
// starts a gateway answers "running" after this and is polled (same op id) on the next ticks.
export const COMMAND_WAIT_MS = 1_000;

// Time kept back from the witnesses for polling a command in flight: the poll of a finished operation
// is answered at once, one round trip, well under this even through a tunnel. At most a quarter of the
// tick, so the witnesses keep most of a short one.
export const COMMAND_RESERVE_MS = 500;

export interface PairTurnDeps {
	store: Store;
	pair: PairConfig;
	agent: AgentClient;
	fetch: typeof fetch;
	/** Wall clock for decide() and timestamps (injectable: tests move time without fake timers). */
	clock: () => number;
	/** Monotonic clock for latencies. */
	perfNow: () => number;
	/** The Tailscale witness for this pair, when configured and credentialed. */
	tailscale?: (signal: AbortSignal) => Promise<TailscaleView>;
	/** Hands events to the notifiers; must not block (agent calls never wait for notifications). */
	notify: (pair: string, events: readonly PairEvent[]) => void;
	/** This tick's witness views, kept in memory for the status API. */
	onWitnesses?: (pair: string, views: WitnessSnapshot) => void;
}

/** What one tick's witnesses answered; undefined: not asked (not configured, or no client). */
export interface WitnessSnapshot {
	standby: StandbyView | undefined;
	tailscale: TailscaleView | undefined;
	/** The primary's own agent; undefined when no primary agent is configured (restart grace off). */
	primaryAgent?: PrimaryAgentView | undefined;
}

export interface TickReport {
	pair: string;
	at: number;
	probe: ProbeResult;
	state: PairState["state"];
	events: number;
	commands: CommandOutcome[];
}

/**
 * Runs one tick of `deps.pair` scheduled at `slot`, ending by `signal` (the tick's deadline), which
 * fires `budgetMs` after the call (commands are fitted into what is left).
 */
export async function tickPair(
	deps: PairTurnDeps,
	slot: number,
	signal: AbortSignal,
	budgetMs = Number.POSITIVE_INFINITY,
): Promise<TickReport> {
	const { store, pair } = deps;
	const endsAt = deps.perfNow() + budgetMs;
	const before = store.state(pair.name);
	const inFlight = (before?.pending ?? null) !== null;
	// The standby is asked when it is a witness, when a command is in flight (decide() watches it then),
	// and while it is the active side (its own gateway is watched, and its lease must be renewed).
	const askStandby = pair.witnesses.standby || inFlight || before?.active === "standby";
	// Both agents get the lease every tick: the state in force now says who may replicate to the main
	// branch (worker/src/lease.ts); the agents sign nothing with it, they only verify it.
	const lease = buildLease(
		pair.name,
		before ?? initialState(deps.clock()),
		deps.clock(),
		leaseSecondsOf(pair),
	);
	// A command in flight is polled after the witnesses, so they end a little early: a primary that hung
	// until the tick's deadline would leave the poll no time on every tick, and the pair would never
	// learn that its promotion finished.
	const polls = inFlight && before?.state !== "paused" && before?.state !== "held";
	const reserve =
		polls && Number.isFinite(budgetMs) ? Math.min(COMMAND_RESERVE_MS, budgetMs / 4) : 0;
	const witnessDl = reserve > 0 ? deadline(budgetMs - reserve, signal) : undefined;
	const witnessSignal = witnessDl?.signal ?? signal;
	// The primary's agent is read every tick when configured: its report on its own gateway tells a
	// restart ("starting") from an outage, so it must be as fresh as the probe it qualifies.
	const askPrimary = hasAgent(pair, "primary") && deps.agent.primaryStatus !== undefined;
	const [probe, standby, tailscale, primaryAgent] = await Promise.all([
		probeHttp(pair.primary.readyUrl, {
			fetch: deps.fetch,
			timeoutMs: pair.probeTimeoutMs,
			expectStatus: pair.primary.expectStatus,
			expectBody: pair.primary.expectBody,
			now: deps.perfNow,
			signal: witnessSignal,
		}),
		askStandby ? standbyView(deps.agent, witnessSignal, lease) : undefined,
		deps.tailscale ? deps.tailscale(witnessSignal) : undefined,
		askPrimary ? primaryAgentView(deps.agent, witnessSignal, lease) : undefined,
	]).finally(() => witnessDl?.clear());
	deps.onWitnesses?.(pair.name, { standby, tailscale, primaryAgent });
	const now = deps.clock();
	// Read the state again: an operator command may have landed while the witnesses answered.
	const state = store.state(pair.name) ?? initialState(now);
	const obs: Observation = { kind: "tick", probe };
	if (standby !== undefined) obs.standby = standby;
	// Fencing: the lease the primary's agent may now hold; decide() keeps it in the pair state, so it
	// outlives an eviction or a redeploy (fencing-wait.ts). Read after the call, so `now` is no earlier.
	if (askPrimary && (deps.agent.leaseDelivered?.("primary") ?? true)) {
		obs.primaryLease = {
			at: now,
			seconds: lease.leaseSeconds,
			namesPrimary: lease.active === "primary",
		};
	}
	if (tailscale !== undefined) obs.tailscale = tailscale;
	if (primaryAgent !== undefined) obs.primaryAgent = primaryAgent;
	const d = decide(state, obs, pair, now);
	store.commitTick(
		pair.name,
		{ at: slot, probe, standby: standby === undefined ? null : describeStandby(standby, pair) },
		d.state,
	);
	const outbox: PairEvent[] = [];
	record(deps, d.events, outbox);
	let outcomes: CommandOutcome[];
	try {
		outcomes = await runCommands(deps, d.commands, signal, endsAt, outbox);
	} finally {
		// Notifications go out after this turn's agent calls, so they never hold one up (connections
		// per invocation are limited); they are stored already, and sent even if a call threw.
		notifyAll(deps, outbox);
	}
	return {
		pair: pair.name,
		at: slot,
		probe,
		state: store.state(pair.name)?.state ?? d.state.state,
		events: d.events.length,
		commands: outcomes,
	};
}

export interface OperatorReport {
	refused?: string;
	state: PairState;
	events: PairEvent[];
	commands: CommandOutcome[];
}

/** Applies an operator command through decide(), then runs the commands it returns. */
export async function operatePair(
	deps: PairTurnDeps,
	command: OperatorCommand,
	signal: AbortSignal,
): Promise<OperatorReport> {
	const { store, pair } = deps;
	const now = deps.clock();
	const state = store.state(pair.name) ?? initialState(now);
	const d = decide(state, { kind: "operator", command }, pair, now);
	if (d.refused !== undefined) {
		return { refused: d.refused, state, events: [], commands: [] };
	}
	store.commitState(pair.name, d.state, now);
	const events: PairEvent[] = [];
	record(deps, d.events, events);
	let commands: CommandOutcome[];
	try {
		commands = await runCommands(deps, d.commands, signal, Number.POSITIVE_INFINITY, events);
	} finally {
		notifyAll(deps, events);
	}
	return { state: store.state(pair.name) ?? d.state, events, commands };
}

/**
 * Sends commands one at a time (their order matters: promote before sync) and feeds each outcome back
 * into decide() at once, so a failed promote is retried or held within the same turn.
 */
async function runCommands(
	deps: PairTurnDeps,
	first: readonly Command[],
	signal: AbortSignal,
	endsAt: number,
	outbox: PairEvent[],
): Promise<CommandOutcome[]> {
	const { store, pair } = deps;
	const outcomes: CommandOutcome[] = [];
	let queue = first;
	for (let round = 0; queue.length > 0 && round < MAX_COMMAND_ROUNDS; round++) {
		const next: Command[] = [];
		for (const cmd of queue) {
			// Past the deadline nothing is sent, and no "unreachable" is made up for it (a sync would count
			// it as a failed attempt): the command is pending in the state and goes out next tick.
			if (signal.aborted) return outcomes;
			const outcome = await sendCommand(deps, cmd, signal, endsAt);
			outcomes.push(outcome);
			const now = deps.clock();
			const state = store.state(pair.name) ?? initialState(now);
			const d: Decision = decide(state, { kind: "command", outcome }, pair, now);
			store.commitState(pair.name, d.state, now);
			record(deps, d.events, outbox);
			next.push(...d.commands);
		}
		queue = next;
	}
	// Commands left over stay pending in the state; decide() re-sends them (same op id) next tick.
	return outcomes;
}

/** Stores events at once (the log is never behind the state) and queues them for notification. */
function record(deps: PairTurnDeps, events: readonly PairEvent[], outbox: PairEvent[]): void {
	if (events.length === 0) return;
	deps.store.appendEvents(deps.pair.name, events);
	outbox.push(...events);
}

function notifyAll(deps: PairTurnDeps, events: readonly PairEvent[]): void {
	if (events.length > 0) deps.notify(deps.pair.name, events);
}

async function standbyView(
	agent: AgentClient,
	signal: AbortSignal,
	lease: Lease,
): Promise<StandbyView | undefined> {
	try {
		return await raceSignal(agent.status(signal, lease), signal, () => ({
			reachable: false as const,
			reason: "no answer before the tick's deadline",
		}));
	} catch (e) {
		console.error("agent client status() threw (a bug: failures must be values)", e);
		return { reachable: false, reason: `agent client error: ${errorText(e)}` };
	}
}

async function primaryAgentView(
	agent: AgentClient,
	signal: AbortSignal,
	lease: Lease,
): Promise<PrimaryAgentView | undefined> {
	try {
		return await raceSignal(
			agent.primaryStatus?.(signal, lease) ?? Promise.resolve(undefined),
			signal,
			() => ({
				reachable: false as const,
				reason: "no answer before the tick's deadline",
			}),
		);
	} catch (e) {
		console.error("agent client primaryStatus() threw (a bug: failures must be values)", e);
		return { reachable: false, reason: `agent client error: ${errorText(e)}` };
	}
}

async function sendCommand(
	deps: PairTurnDeps,
	cmd: Command,
	tickSignal: AbortSignal,
	endsAt: number,
): Promise<CommandOutcome> {
	const { agent, pair } = deps;
	const base = { action: cmd.action, term: cmd.term, opId: cmd.opId };
	const dl = deadline(pair.commandTimeoutMs, tickSignal);
	// The agent answers "running" after waitMs; that answer must be back before the tick ends, or a live
	// operation reads as unreachable (for a sync, a spent attempt). Half of the time left: the other
	// half is for the round trip.
	const left = Math.floor((endsAt - deps.perfNow()) / 2);
	const waitMs = Math.max(
		0,
		Math.min(COMMAND_WAIT_MS, Math.floor(pair.commandTimeoutMs / 2), left),
	);
	try {
		return await raceSignal(agent.command(cmd, { waitMs, signal: dl.signal }), dl.signal, () => ({
			...base,
			result: "unreachable" as const,
			detail: dl.expired
				? `no answer within ${pair.commandTimeoutMs} ms`
				: "the tick's deadline came before the agent answered",
		}));
	} catch (e) {
		console.error("agent client command() threw (a bug: failures must be values)", e);
		return { ...base, result: "failed", detail: `agent client error: ${errorText(e)}` };
	} finally {
		dl.clear();
	}
}

/** Settles with `onAbort()` when `signal` fires first, even if `work` ignores the signal. */
export function raceSignal<T>(work: Promise<T>, signal: AbortSignal, onAbort: () => T): Promise<T> {
	if (signal.aborted) return Promise.resolve(onAbort());
	return new Promise<T>((resolve, reject) => {
		const abort = () => resolve(onAbort());
		signal.addEventListener("abort", abort, { once: true });
		work.then(
			(v) => {
				signal.removeEventListener("abort", abort);
				resolve(v);
			},
			(e) => {
				signal.removeEventListener("abort", abort);
				reject(e);
			},
		);
	});
}

function errorText(e: unknown): string {
	return e instanceof Error ? e.message : String(e);
}
