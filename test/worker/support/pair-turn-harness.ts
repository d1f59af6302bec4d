// Drives tickPair/operatePair directly: a Store on a scratch Durable Object, a scripted agent and primary, a hand-moved clock.
import { runInDurableObject } from "cloudflare:test";
import type { AgentClient, CommandOptions } from "../../../worker/src/agent-client";
import { type PairConfig, PairConfigSchema } from "../../../worker/src/config";
import type { PairTurnDeps } from "../../../worker/src/pair-tick";
import { Store } from "../../../worker/src/store";
import type { Command, CommandOutcome, PairEvent, StandbyView } from "../../../worker/src/types";
import type { Watchdog } from "../../../worker/src/watchdog";
import { watchdog } from "./watchdog-harness";

export const T = 1_900_000_000_000;

/**
 * A valid pair config; the URLs are never fetched (the tests pass their own fetch and agent). Fencing
 * off: these tests are about the turn's order, and a promote goes out on the tick it is decided (the
 * fencing wait has its own tests, decide-fencing.test.ts).
 */
export function pairConfig(over: Record<string, unknown> = {}): PairConfig {
	return PairConfigSchema.parse({
		name: "turn",
		fencing: "off",
		primary: {
			readyUrl: "http://127.0.0.1:9/readyz",
			agentUrl: "http://127.0.0.1:9/primary-agent",
			agentPublicKey: "ed25519:11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
		},
		standby: {
			agentUrl: "http://127.0.0.1:9/standby-agent",
			agentPublicKey: "ed25519:11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
		},
		...over,
	});
}

/** Runs `fn` with a Store over the SQL storage of a scratch Durable Object (not a configured group). */
export function withStore<R>(name: string, fn: (store: Store) => Promise<R> | R): Promise<R> {
	return runInDurableObject(watchdog(`turn-${name}`), (_i: Watchdog, state) =>
		fn(new Store(state.storage.sql)),
	);
}

export interface SentCommand {
	cmd: Command;
	waitMs: number;
	/** Whether the call's signal had already fired when the command was handed to the client. */
	abortedAtSend: boolean;
}

/** A scripted agent: `answer` decides each command's outcome; every call is recorded. */
export function scriptedAgent(
	answer: (cmd: Command, opts: CommandOptions) => Promise<CommandOutcome> | CommandOutcome,
	status: () => StandbyView | undefined = () => standbyUp(),
): AgentClient & { sent: SentCommand[] } {
	const sent: SentCommand[] = [];
	return {
		sent,
		async status() {
			return status();
		},
		async command(cmd, opts) {
			sent.push({ cmd, waitMs: opts.waitMs, abortedAtSend: opts.signal.aborted });
			return answer(cmd, opts);
		},
	};
}

export function standbyUp(primaryOk = true): StandbyView {
	return {
		reachable: true,
		term: 0,
		gatewayActive: false,
		primary: {
			ok: primaryOk,
			consecutiveFailures: primaryOk ? 0 : 5,
			consecutiveSuccesses: primaryOk ? 5 : 0,
			ageMs: 500,
		},
	};
}

export function outcome(
	cmd: Command,
	result: CommandOutcome["result"],
	detail = "",
): CommandOutcome {
	return { action: cmd.action, term: cmd.term, opId: cmd.opId, result, detail };
}

/** An agent that holds each command for its waitMs (real time, like the agent does) and answers "running". */
export function slowOperation(cmd: Command, opts: CommandOptions): Promise<CommandOutcome> {
	return new Promise((resolve) => {
		const timer = setTimeout(
			() => resolve(outcome(cmd, "running", "running; done: none")),
			opts.waitMs,
		);
		opts.signal.addEventListener("abort", () => clearTimeout(timer), { once: true });
	});
}

/** The primary's readiness answers: ready, not ready (503), or no answer until the caller gives up. */
export function primary(mode: () => "up" | "down" | "hang"): typeof fetch {
	return (async (_input: RequestInfo | URL, init?: RequestInit) => {
		const m = mode();
		if (m === "up") return new Response('{"ready":true}', { status: 200 });
		if (m === "down") return new Response('{"ready":false}', { status: 503 });
		return new Promise<Response>((_resolve, reject) => {
			const signal = init?.signal;
			if (!signal) return;
			if (signal.aborted) reject(signal.reason);
			signal.addEventListener("abort", () => reject(signal.reason), { once: true });
		});
	}) as typeof fetch;
}

export interface Turn {
	deps: PairTurnDeps;
	clock: { now: number };
	notified: PairEvent[];
}

export function turnDeps(
	store: Store,
	pair: PairConfig,
	agent: AgentClient,
	fetchImpl: typeof fetch,
	start = T,
): Turn {
	const clock = { now: start };
	const notified: PairEvent[] = [];
	return {
		clock,
		notified,
		deps: {
			store,
			pair,
			agent,
			fetch: fetchImpl,
			clock: () => clock.now,
			perfNow: () => performance.now(),
			notify: (_name, events) => notified.push(...events),
		},
	};
}

/** A signal that has already fired: the tick's deadline came before this point. */
export function expired(): AbortSignal {
	const c = new AbortController();
	c.abort(new DOMException("deadline", "TimeoutError"));
	return c.signal;
}
