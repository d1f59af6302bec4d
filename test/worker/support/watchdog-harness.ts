// Worker-test helpers: the loopback gateway control, Watchdog stubs, and a clock the tests move by hand.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { Watchdog } from "../../../worker/src/watchdog";

export const testEnv = env as Env & { GATEWAY_BASE: string; REFUSED_BASE: string };

export type GatewayMode = "up" | "not-ready" | "wrong-body" | "slow" | "reset" | "redirect";

/** Switches the loopback gateway `id` (its readiness URL is {GATEWAY_BASE}/g/{id}/readyz). */
export async function setGateway(
	id: string,
	mode: GatewayMode,
	opts: { delayMs?: number } = {},
): Promise<void> {
	const res = await fetch(`${testEnv.GATEWAY_BASE}/control/${id}`, {
		method: "POST",
		body: JSON.stringify({ mode, ...opts, resetHits: true }),
	});
	if (!res.ok) throw new Error(`gateway control ${id}: ${res.status} ${await res.text()}`);
}

export async function gatewayHits(id: string): Promise<number> {
	const res = await fetch(`${testEnv.GATEWAY_BASE}/control/${id}`);
	return ((await res.json()) as { hits: number }).hits;
}

export function readyUrl(id: string): string {
	return `${testEnv.GATEWAY_BASE}/g/${id}/readyz`;
}

export function watchdog(group: string): DurableObjectStub<Watchdog> {
	return env.WATCHDOG.get(env.WATCHDOG.idFromName(group));
}

/**
 * A wall clock for the Durable Object, far enough in the future that the alarms it sets never fire
 * by themselves during a test: every tick is run explicitly with runDurableObjectAlarm.
 */
export class TestClock {
	now = Date.now() + 3_600_000;
	advance(ms: number): number {
		this.now += ms;
		return this.now;
	}
}

export async function useClock(stub: DurableObjectStub<Watchdog>, clock: TestClock): Promise<void> {
	await runInDurableObject(stub, (instance: Watchdog) => {
		instance.deps.clock = () => clock.now;
	});
}

export async function alarmOf(stub: DurableObjectStub<Watchdog>): Promise<number | null> {
	return runInDurableObject(stub, (_i: Watchdog, state) => state.storage.getAlarm());
}

/** Alarms outlive a test in this runner; drop them so nothing fires later. */
export async function dropAlarm(stub: DurableObjectStub<Watchdog>): Promise<void> {
	await runInDurableObject(stub, (_i: Watchdog, state) => state.storage.deleteAlarm());
}
