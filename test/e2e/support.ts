// Shared pieces of the e2e scenarios: a lab per test with its logs kept for failures, and timings in intervals.
import { afterEach, onTestFailed } from "vitest";
import { Lab, type LabOptions, type PairEventView } from "../harness/lab";

const labs: Lab[] = [];

/** A fresh lab; its processes' logs are printed only if the test fails. */
export async function startLab(opts: LabOptions = {}): Promise<Lab> {
	const lines: string[] = [];
	const lab = await Lab.create({
		...opts,
		onLine: (source, line) => {
			lines.push(`[${source}] ${line}`);
			if (lines.length > 2000) lines.shift();
		},
	});
	labs.push(lab);
	onTestFailed(async () => {
		console.log(`--- last lab log lines ---\n${lines.slice(-150).join("\n")}`);
		console.log(
			`--- event log ---\n${JSON.stringify(await lab.events().catch(() => []), null, 1)}`,
		);
	});
	return lab;
}

afterEach(async () => {
	await Promise.allSettled(labs.splice(0).map((l) => l.stop()));
});

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
