// `npm run bench`: the design's scenario suite on loopback, each in its own lab, with a table and optional JSON.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { LabTransport } from "../test/harness/lab";
import { type BaselineResult, runBaseline } from "./lib/baseline";
import { type BothSidesRow, describeBothSides, measureBothSides } from "./lib/both-sides";
import {
	describePromoteTime,
	measurePromoteTime,
	type PromoteTimeResult,
} from "./lib/promote-time";
import { measureRpo, type RpoResult } from "./lib/rpo";
import { runScenario, SCENARIOS, type ScenarioResult } from "./lib/scenarios";

const HELP = `Usage: npm run bench -- [--interval S] [--json FILE] [--only a,b] [--transport T] [--concurrency N] [--list]

Runs every scenario of the design on this machine (loopback only): the real Worker in
local workerd, real agent processes, stand-in gateways, a git remote. Prints a table,
each scenario once per transport, side by side.

  --interval S     probe interval in seconds (default 5, the product's default;
                   thresholds are counted in probes, so timings scale with it)
  --json FILE      also write every figure as JSON
  --only LIST      run only these scenarios (comma-separated names, see --list)
  --transport LIST dial-out, endpoint, or both (default: dial-out,endpoint): how the
                   agents reach the Worker (dial-out: a WebSocket each, endpoint: the
                   Worker calls their HTTP ports)
  --concurrency N  labs at once (default 3; each is a Worker and two agents)
  --skip-baseline  do not also measure the standby-side bash monitor this replaces
  --skip-rpo       do not measure workspace replication (recovery point,
                   nothing lost with both sides writing, promote time)
  --rpo-only       measure only workspace replication: the recovery point (3
                   trials each at replicateIntervalSeconds 30 and 5), one
                   failover and failback with both sides writing (a lab),
                   and promote time warm against cold; about four minutes
  --list           list the scenarios and exit`;

let args: ReturnType<typeof parse>;
function parse() {
	return parseArgs({
		args: process.argv.slice(2),
		options: {
			interval: { type: "string", default: "5" },
			json: { type: "string" },
			only: { type: "string" },
			transport: { type: "string", default: "dial-out,endpoint" },
			concurrency: { type: "string", default: "3" },
			list: { type: "boolean", default: false },
			"skip-baseline": { type: "boolean", default: false },
			"skip-rpo": { type: "boolean", default: false },
			"rpo-only": { type: "boolean", default: false },
			help: { type: "boolean", short: "h", default: false },
		},
		strict: true,
	});
}
try {
	args = parse();
} catch (e) {
	console.error(`bench: ${(e as Error).message}\n\n${HELP}`);
	process.exit(2);
}
if (args.values.help) {
	console.log(HELP);
	process.exit(0);
}
if (args.values.list) {
	for (const s of SCENARIOS) console.log(`${s.name.padEnd(30)} ${s.expected}`);
	process.exit(0);
}
interface ReplicationRows {
	rpo: RpoResult[];
	bothSides: BothSidesRow | { error: string };
	promoteTime: PromoteTimeResult | { error: string };
}

/**
 * Workspace replication (issue 10): the recovery point at the default interval and at 5 s, three trials
 * each, all at once; then, one after the other (each loads the machine), a failover and failback with
 * both sides writing in a lab, and the standby's promote with the warm copy against a cold pull.
 */
async function replicationRows(): Promise<ReplicationRows> {
	const rpo = await Promise.all([measureRpo(30, 3), measureRpo(5, 3)]);
	console.log(
		"\nrecovery point (writer appends a line every second on the primary; hard fault; promote):",
	);
	for (const r of rpo) {
		console.log(
			`  replicateIntervalSeconds ${String(r.intervalSeconds).padEnd(3)} RPO worst ${r.worstS} s, median ${r.medianS} s (trials ${r.trialsS.join(", ")} s); promote git-sync ${r.promoteMs.join(", ")} ms`,
		);
	}
	const failed = (e: unknown) => ({ error: (e as Error).message });
	const bothSides = await measureBothSides(5).catch(failed);
	console.log(
		"\nnothing lost across failover and failback with both sides writing (same files, a line a second):",
	);
	console.log(
		`  ${"error" in bothSides ? `FAILED: ${bothSides.error}` : describeBothSides(bothSides)}`,
	);
	const promoteTime = await measurePromoteTime().catch(failed);
	console.log("\npromote time, warm copy against today's cold pull (same run):");
	console.log(
		`  ${"error" in promoteTime ? `FAILED: ${promoteTime.error}` : describePromoteTime(promoteTime)}`,
	);
	return { rpo, bothSides, promoteTime };
}
if (args.values["rpo-only"]) {
	const rows = await replicationRows();
	if (args.values.json) {
		writeFileSync(
			args.values.json,
			`${JSON.stringify({ when: new Date().toISOString(), replication: rows }, null, 2)}\n`,
		);
	}
	const bad = "error" in rows.bothSides || rows.bothSides.lost > 0 || "error" in rows.promoteTime;
	process.exit(bad ? 1 : 0);
}

const interval = Number(args.values.interval);
if (!Number.isInteger(interval) || interval < 1 || interval > 60) {
	console.error(
		`bench: --interval: expected whole seconds from 1 to 60, got "${args.values.interval}"`,
	);
	process.exit(2);
}
const concurrency = Number(args.values.concurrency);
if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 8) {
	console.error(`bench: --concurrency: expected 1 to 8, got "${args.values.concurrency}"`);
	process.exit(2);
}
const wanted = args.values.only?.split(",").map((s) => s.trim());
const unknown = wanted?.filter((w) => !SCENARIOS.some((s) => s.name === w)) ?? [];
if (unknown.length > 0) {
	console.error(`bench: --only: unknown scenario(s) ${unknown.join(", ")}; see --list`);
	process.exit(2);
}
const scenarios = wanted ? SCENARIOS.filter((s) => wanted.includes(s.name)) : SCENARIOS;
const TRANSPORTS: readonly LabTransport[] = ["dial-out", "endpoint"];
const transports = [...new Set(args.values.transport.split(",").map((t) => t.trim()))];
const badTransport = transports.filter((t) => !TRANSPORTS.includes(t as LabTransport));
if (badTransport.length > 0 || transports.length === 0) {
	console.error(
		`bench: --transport: expected dial-out, endpoint or both comma-separated, got "${args.values.transport}"`,
	);
	process.exit(2);
}
/** Every scenario on every transport, one lab each; rows of one scenario sit side by side. */
const runs = scenarios.flatMap((scenario) =>
	(transports as LabTransport[]).map((transport) => ({ scenario, transport })),
);

// Thresholds as shipped, except the hold-down before failback, shortened so the suite stays in minutes.
const base = {
	intervalSeconds: interval,
	failThreshold: 3,
	recoverThreshold: 6,
	minActiveSeconds: 2 * interval,
	recoverSeconds: 2 * interval,
	maxFailoversPerHour: 3,
};

console.log(
	`bench: ${scenarios.length} scenarios on ${transports.join(" and ")}, probe interval ${interval} s, failThreshold ${base.failThreshold}, recoverThreshold ${base.recoverThreshold}, minActiveSeconds ${base.minActiveSeconds}, ${concurrency} at a time`,
);
const started = Date.now();
// The seed's monitor probes every 10 s at our default 5 s: the same factor at any --interval.
const baseline: Promise<BaselineResult[]> = args.values["skip-baseline"]
	? Promise.resolve([])
	: runBaseline(2 * interval);
const results: ScenarioResult[] = new Array(runs.length);
let next = 0;
await Promise.all(
	Array.from({ length: Math.min(concurrency, runs.length) }, async () => {
		while (next < runs.length) {
			const i = next++;
			const run = runs[i];
			if (!run) break;
			results[i] = await runScenario(run.scenario, { ...base, transport: run.transport }, (line) =>
				console.log(`  [${((Date.now() - started) / 1000).toFixed(0).padStart(3)} s] ${line}`),
			);
		}
	}),
);

// The Worker's per-tick CPU, measured by the tick benchmark (three pairs per alarm).
const tmp = mkdtempSync(join(tmpdir(), "fg-bench-"));
const tickJson = join(tmp, "tick.json");
const tick = spawnSync(
	process.execPath,
	["scripts/run-ts.mjs", "scripts/bench-tick.ts", "--json", tickJson],
	{ encoding: "utf8", env: { ...process.env, BENCH_ALARMS: "3000" } },
);
let tickCpu: { median: number; p99: number; firstAlarm: number } | null = null;
try {
	const t = JSON.parse(readFileSync(tickJson, "utf8")) as {
		results: {
			scenario: string;
			cpuMsPerAlarm: { median: number; p99: number };
			firstAlarmCpuMs: number;
		}[];
	};
	const steady = t.results.find((r) => r.scenario === "steady");
	if (steady) {
		tickCpu = {
			median: steady.cpuMsPerAlarm.median,
			p99: steady.cpuMsPerAlarm.p99,
			firstAlarm: steady.firstAlarmCpuMs,
		};
	}
} catch {
	console.error(`bench: the tick CPU benchmark failed:\n${tick.stderr}`);
}
rmSync(tmp, { recursive: true, force: true });

const fmt = (x: number | null) => (x === null ? "-" : `${x}`);
const perInterval = (x: number | null) =>
	x === null ? "-" : `${Math.round((x / interval) * 10) / 10}`;
const rows = results.map((r) => [
	r.pass ? "ok" : "FAIL",
	r.name,
	r.transport,
	fmt(r.detectS),
	`${fmt(r.promoteCommandS)} (${perInterval(r.promoteCommandS)})`,
	`${fmt(r.standbyReadyS)} (${perInterval(r.standbyReadyS)})`,
	`${fmt(r.demoteS)} (${perInterval(r.demoteS)})`,
	String(r.falsePromotions),
	String(r.missedPromotions),
	String(r.notificationsSent),
	r.perTick ? String(r.perTick.wsIn) : "-",
	r.perTick ? String(r.perTick.http) : "-",
	r.outcome,
]);
const header = [
	"",
	"scenario",
	"transport",
	"detect s",
	"promote cmd s (int.)",
	"standby ready s (int.)",
	"demote s (int.)",
	"false",
	"missed",
	"notif.",
	"WS in/tick",
	"agent HTTP/tick",
	"outcome",
];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join("  ");
console.log(`\n${line(header)}`);
for (const r of rows) console.log(line(r));
const median = (xs: number[]) => {
	const sorted = [...xs].sort((a, b) => a - b);
	return sorted.length === 0 ? null : (sorted[Math.floor(sorted.length / 2)] ?? null);
};
for (const t of transports) {
	const of = results.filter((r) => r.transport === t);
	const traffic = of.map((r) => r.perTick).filter((x) => x !== null);
	console.log(
		`${t}: ${of.filter((r) => r.pass).length}/${of.length} as expected, false promotions ${of.reduce((a, r) => a + r.falsePromotions, 0)}, missed ${of.reduce((a, r) => a + r.missedPromotions, 0)}; per tick (median of scenarios): WebSocket messages in ${fmt(median(traffic.map((x) => x.wsIn)))}, agent HTTP requests ${fmt(median(traffic.map((x) => x.http)))}`,
	);
}
const baselineResults = await baseline;
if (baselineResults.length > 0) {
	console.log(
		`\nbaseline: the standby-side bash monitor (curl every ${2 * interval} s, 3 misses -> start, 1 good probe -> stop)`,
	);
	for (const b of baselineResults) {
		console.log(
			`  ${b.name.padEnd(24)} start after ${b.startS === null ? "-" : `${b.startS} s`}; false promotions ${b.falsePromotions}; ${b.outcome}`,
		);
	}
}
const replication = args.values["skip-rpo"] ? null : await replicationRows();
const rss = results.map((r) => r.agentRssMiB).filter((x): x is number => x !== null);
const totalFalse = results.reduce((a, r) => a + r.falsePromotions, 0);
const totalMissed = results.reduce((a, r) => a + r.missedPromotions, 0);
console.log(
	`\nfalse promotions ${totalFalse}, missed promotions ${totalMissed}; worker tick CPU (3 pairs): median ${fmt(tickCpu?.median ?? null)} ms, p99 ${fmt(tickCpu?.p99 ?? null)} ms, first alarm ${fmt(tickCpu?.firstAlarm ?? null)} ms; agent RSS ${rss.length ? `${Math.min(...rss)}-${Math.max(...rss)} MiB` : "-"}; ${((Date.now() - started) / 1000).toFixed(0)} s`,
);
if (args.values.json) {
	writeFileSync(
		args.values.json,
		`${JSON.stringify(
			{
				when: new Date().toISOString(),
				intervalSeconds: interval,
				transports,
				config: base,
				scenarios: results,
				baseline: baselineResults,
				recoveryPoint: replication?.rpo ?? [],
				replication,
				overall: {
					falsePromotions: totalFalse,
					missedPromotions: totalMissed,
					workerTickCpuMs: tickCpu,
					agentRssMiB: rss.length ? { min: Math.min(...rss), max: Math.max(...rss) } : null,
					durationS: Math.round((Date.now() - started) / 1000),
				},
			},
			null,
			2,
		)}\n`,
	);
	console.log(`wrote ${args.values.json}`);
}
process.exit(results.every((r) => r.pass) ? 0 : 1);
