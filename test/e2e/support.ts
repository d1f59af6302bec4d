// Shared pieces of the e2e scenarios: a lab per test with its logs kept for failures, and timings in intervals.
import { afterEach } from "vitest";
import { Lab, type LabOptions, type PairEventView } from "../harness/lab";

const labs: { lab: Lab; lines: string[] }[] = [];

/** A fresh lab; its processes' logs and its event log are printed only if the test fails. */
export async function startLab(opts: LabOptions = {}): Promise<Lab> {
	const lines: string[] = [];
	const lab = await Lab.create({
		...opts,
		onLine: (source, line) => {
			lines.push(`[${source}] ${line}`);
			if (lines.length > 2000) lines.shift();
		},
	});
	labs.push({ lab, lines });
	return lab;
}

// Here rather than in onTestFailed, which runs after this hook: the lab must still be up to read events.
afterEach(async (ctx) => {
	const done = labs.splice(0);
	if (ctx.task.result?.state === "fail") {
		for (const { lab, lines } of done) {
			console.log(`--- last lab log lines (${lab.transport}) ---\n${lines.slice(-150).join("\n")}`);
			console.log(
				`--- event log ---\n${JSON.stringify(await lab.events().catch(() => []), null, 1)}`,
			);
			const p = await lab.pair().catch(() => null);
			console.log(`--- pair ---\n${JSON.stringify(p, null, 1)?.slice(0, 6000)}`);
		}
	}
	await Promise.allSettled(done.map((l) => l.lab.stop()));
});

/**
 * Test options for a scenario that exercises a transport's own paths (how the Worker and the agents
 * talk): besides the e2e project (dial-out), the e2e-http project runs it over the HTTP transport.
 */
export const TRANSPORT = { tags: ["transport"] };

/** Milliseconds expressed in probe intervals, one decimal. */
export function intervals(ms: number, lab: Lab): number {
	return Math.round((ms / lab.interval) * 10) / 10;
}

export function kinds(events: readonly PairEventView[]): string[] {
	return events.filter((e) => e.kind !== "notification").map((e) => e.kind);
}

export function sleep(ms: number): Promise<void> {
	return new Promise((r) => setTimeout(r, ms));
}

/** Timings gathered by the scenarios; printed once at the end for the closing note. */
export const timings: Record<string, Record<string, number>> = {};
export function recordTiming(scenario: string, what: string, value: number): void {
	timings[scenario] ??= {};
	(timings[scenario] as Record<string, number>)[what] = value;
	console.log(`[timing] ${scenario}: ${what} = ${value} intervals`);
}
