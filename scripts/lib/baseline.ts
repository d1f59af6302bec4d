// The seed's standby-side bash monitor in the same loopback lab, measured on the same faults, for comparison.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BreakableProxy } from "../../test/harness/breakable-proxy";
import { ControlServer } from "../../test/harness/control-server";
import { FakeGateway } from "../../test/harness/fake-gateway";
import { createWorkspaces, readIfExists } from "../../test/harness/git-workspace";
import { freePort, waitFor } from "../../test/harness/ports";
import { projectRoot } from "../../test/harness/root";

export interface BaselineResult {
	name: string;
	/** Seconds from the fault to the monitor starting the standby's gateway (null: it never did). */
	startS: number | null;
	falsePromotions: number;
	/** Whether a file written on the standby while it served reached the primary. */
	fileKept: boolean | null;
	outcome: string;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function withLab<T>(
	intervalS: number,
	body: (l: {
		primary: FakeGateway;
		standby: FakeGateway;
		route: BreakableProxy;
		control: ControlServer;
		root: string;
	}) => Promise<T>,
): Promise<T> {
	const root = mkdtempSync(join(tmpdir(), "fg-baseline-"));
	const primary = new FakeGateway("primary", await freePort());
	const standby = new FakeGateway("standby", await freePort());
	await primary.start();
	const route = new BreakableProxy({ host: "127.0.0.1", port: Number(new URL(primary.url).port) });
	await route.start();
	const control = new ControlServer({ primary, standby });
	await control.start();
	let child: ChildProcess | undefined;
	try {
		child = spawn("bash", [join(projectRoot(), "scripts/baseline/bash-monitor.sh")], {
			env: {
				...process.env,
				PRIMARY_URL: `${route.url}/readyz`,
				START_URL: `${control.url}/standby/start`,
				STOP_URL: `${control.url}/standby/stop`,
				INTERVAL: String(intervalS),
				TIMEOUT: String(Math.max(1, Math.floor(intervalS / 2))),
			},
			stdio: "ignore",
			detached: true,
		});
		return await body({ primary, standby, route, control, root });
	} finally {
		if (child?.pid) {
			try {
				process.kill(-child.pid, "SIGKILL");
			} catch {}
		}
		await Promise.allSettled([primary.stop(), standby.stop(), route.stop(), control.stop()]);
		rmSync(root, { recursive: true, force: true });
	}
}

/** `seedIntervalS` is the seed's own 10 s at the product's default 5 s, scaled like the rest. */
export async function runBaseline(seedIntervalS: number): Promise<BaselineResult[]> {
	const hardDown = await withLab(seedIntervalS, async (l) => {
		const ws = createWorkspaces(l.root);
		await sleep(seedIntervalS * 1000);
		const t0 = Date.now();
		await l.primary.stop();
		let startedAt: number | null = null;
		await waitFor(
			"the bash monitor to start the standby",
			() => l.control.calls.includes("start standby"),
			6 * seedIntervalS * 1000,
		)
			.then(() => {
				startedAt = Date.now();
			})
			.catch(() => {});
		// The standby serves and writes; the monitor has no notion of the workspace.
		writeFileSync(join(ws.standby, "outage-note.md"), "written on the standby\n");
		await l.primary.start();
		await waitFor(
			"the bash monitor to stop the standby",
			() => l.control.calls.includes("stop standby"),
			3 * seedIntervalS * 1000,
		).catch(() => {});
		const kept = readIfExists(ws.primary, "outage-note.md") !== undefined;
		const startS = startedAt === null ? null : Math.round(((startedAt as number) - t0) / 100) / 10;
		return {
			name: "hard-down",
			startS,
			falsePromotions: 0,
			fileKept: kept,
			outcome: `${startS === null ? "never started the standby" : `started the standby after ${startS} s`}; stopped it on the first good probe; the standby's file ${kept ? "reached" : "never reached"} the primary`,
		} satisfies BaselineResult;
	});
	const partition = await withLab(seedIntervalS, async (l) => {
		await sleep(seedIntervalS * 1000);
		const t0 = Date.now();
		// Only the standby's route to the primary breaks; the primary serves its users all along.
		l.route.break("refuse");
		let startedAt: number | null = null;
		await waitFor(
			"the bash monitor to start the standby",
			() => l.control.calls.includes("start standby"),
			5 * seedIntervalS * 1000,
		)
			.then(() => {
				startedAt = Date.now();
			})
			.catch(() => {});
		const starts = l.control.calls.filter((c) => c === "start standby").length;
		return {
			name: "standby-only partition",
			startS: startedAt === null ? null : Math.round(((startedAt as number) - t0) / 100) / 10,
			falsePromotions: starts,
			fileKept: null,
			outcome:
				starts > 0
					? "started the standby while the primary was healthy: two gateways serving"
					: "no promotion",
		} satisfies BaselineResult;
	});
	return [hardDown, partition];
}
