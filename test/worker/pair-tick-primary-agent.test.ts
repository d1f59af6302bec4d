// The primary's agent as a tick witness: read concurrently with the probe under the tick's deadline, handed to
// decide() as obs.primaryAgent, never asked when no primary agent is configured, and failures kept as values.
import { describe, expect, it } from "vitest";
import type { AgentClient } from "../../worker/src/agent-client";
import { deadline } from "../../worker/src/deadline";
import { type TickReport, tickPair, type WitnessSnapshot } from "../../worker/src/pair-tick";
import type { PrimaryAgentView } from "../../worker/src/types";
import {
	outcome,
	pairConfig,
	primary,
	scriptedAgent,
	standbyUp,
	turnDeps,
	withStore,
} from "./support/pair-turn-harness";

const starting: PrimaryAgentView = {
	reachable: true,
	term: 0,
	gateway: {
		state: "starting",
		failing: ["startup-sidecars"],
		uptimeMs: 10_000,
		detail: "HTTP 503, starting: startup-sidecars",
		ageMs: 400,
	},
	maintenanceUntil: null,
};

/** An agent client whose primaryStatus is scripted; commands succeed. */
function withPrimary(
	primaryStatus: (signal: AbortSignal) => Promise<PrimaryAgentView | undefined>,
): AgentClient & { primaryCalls: number } {
	const base = scriptedAgent((cmd) => outcome(cmd, "succeeded"));
	const agent = Object.assign(base, {
		primaryCalls: 0,
		primaryStatus: (signal: AbortSignal) => {
			agent.primaryCalls++;
			return primaryStatus(signal);
		},
	});
	return agent;
}

async function oneTick(
	name: string,
	agent: AgentClient,
	fetchImpl: typeof fetch,
	over: Record<string, unknown> = {},
	budgetMs = 2_000,
): Promise<(WitnessSnapshot & { report: TickReport }) | undefined> {
	return withStore(name, async (store) => {
		const t = turnDeps(store, pairConfig(over), agent, fetchImpl);
		let seen: WitnessSnapshot | undefined;
		t.deps.onWitnesses = (_pair, views) => {
			seen = views;
		};
		const dl = deadline(budgetMs);
		try {
			const report = await tickPair(t.deps, t.clock.now, dl.signal, budgetMs);
			return seen && { ...seen, report };
		} finally {
			dl.clear();
		}
	});
}

describe("the primary agent as a tick witness", () => {
	it("is read every tick when primary.agentUrl is configured, and passed on", async () => {
		const agent = withPrimary(async () => starting);
		const views = await oneTick(
			"pa-read",
			agent,
			primary(() => "down"),
		);
		expect(agent.primaryCalls).toBe(1);
		expect(views?.primaryAgent).toEqual(starting);
		expect(views?.standby).toEqual(standbyUp());
	});

	it("is read concurrently with the probe: each waits for the other to have started", async () => {
		let probeStarted!: () => void;
		const probeGate = new Promise<void>((r) => {
			probeStarted = r;
		});
		let primaryAsked!: () => void;
		const primaryGate = new Promise<void>((r) => {
			primaryAsked = r;
		});
		// Sequential gathering would leave one of them waiting until the deadline.
		const agent = withPrimary(async () => {
			primaryAsked();
			await probeGate;
			return starting;
		});
		const probe = (async () => {
			probeStarted();
			await primaryGate;
			return new Response('{"ready":false}', { status: 503 });
		}) as unknown as typeof fetch;
		const views = await oneTick("pa-concurrent", agent, probe, {}, 20_000);
		expect(views?.primaryAgent).toEqual(starting);
		// The probe got its answer rather than timing out while the agent waited for it.
		expect(views?.report.probe).toMatchObject({ ok: false, status: 503 });
	});

	it("an agent that does not answer before the tick's deadline is unreachable, and the tick ends", async () => {
		const agent = withPrimary(
			(signal) =>
				new Promise<PrimaryAgentView>((resolve) => {
					// Honours nothing: the tick must still end at its deadline.
					void signal;
					setTimeout(() => resolve(starting), 60_000);
				}),
		);
		const views = await oneTick(
			"pa-hang",
			agent,
			primary(() => "up"),
			{},
			300,
		);
		expect(views?.primaryAgent).toEqual({
			reachable: false,
			reason: "no answer before the tick's deadline",
		});
	});

	it("a client that throws (a bug) still gives a value", async () => {
		const agent = withPrimary(async () => {
			throw new Error("boom");
		});
		const views = await oneTick(
			"pa-throw",
			agent,
			primary(() => "up"),
		);
		expect(views?.primaryAgent).toEqual({ reachable: false, reason: "agent client error: boom" });
	});

	it("without primary.agentUrl the primary agent is never asked (restart grace off)", async () => {
		const agent = withPrimary(async () => starting);
		const views = await oneTick(
			"pa-none",
			agent,
			primary(() => "up"),
			{
				primary: { readyUrl: "http://127.0.0.1:9/readyz" },
			},
		);
		expect(agent.primaryCalls).toBe(0);
		expect(views?.primaryAgent).toBeUndefined();
	});

	it("a client without primaryStatus (an older fake or no client) is not asked", async () => {
		const views = await oneTick(
			"pa-old-client",
			scriptedAgent((cmd) => outcome(cmd, "succeeded")),
			primary(() => "up"),
		);
		expect(views?.primaryAgent).toBeUndefined();
	});
});
