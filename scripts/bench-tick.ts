// CPU time of one watchdog alarm (three pairs: probe answered by an in-process fake, decide, SQLite writes).
// Runs the Worker's own tick code in Node against node:sqlite behind the Durable Object SQL interface.
import { writeFileSync } from "node:fs";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import type { AgentClient } from "../worker/src/agent-client";
import { noAgentClient } from "../worker/src/agent-client";
import { type PairConfig, parseWatchConfig } from "../worker/src/config";
import { type PairTurnDeps, tickPair } from "../worker/src/pair-tick";
import { type SqlCursorLike, type SqlLike, Store } from "../worker/src/store";
import type { PrimaryAgentView, StandbyView } from "../worker/src/types";

const args = process.argv.slice(2);
const jsonOut = args.includes("--json") ? args[args.indexOf("--json") + 1] : undefined;
// Enough alarms for a stable p99 (1% of 5000 is 50 samples) in a few seconds.
const ALARMS = Number(process.env.BENCH_ALARMS ?? 5_000);
// Discarded: lets V8 optimise the hot paths first, as a long-lived Durable Object would have.
const WARMUP = 500;
const INTERVAL_MS = 5_000;

/** node:sqlite behind the subset of the Durable Object SQL API the store uses. */
class NodeSql implements SqlLike {
	private readonly statements = new Map<string, StatementSync>();
	constructor(private readonly db: DatabaseSync) {}
	exec(query: string, ...bindings: (string | number | null)[]): SqlCursorLike {
		if (bindings.length === 0 && /;\s*\S/.test(query)) {
			this.db.exec(query); // the schema: several statements
			return { toArray: () => [], rowsWritten: 0 };
		}
		let stmt = this.statements.get(query);
		if (!stmt) {
			stmt = this.db.prepare(query);
			this.statements.set(query, stmt);
		}
		if (/^\s*SELECT/i.test(query)) {
			const rows = stmt.all(...bindings) as Record<string, unknown>[];
			return { toArray: () => rows, rowsWritten: 0 };
		}
		const r = stmt.run(...bindings);
		return { toArray: () => [], rowsWritten: Number(r.changes) };
	}
}

let parseCpuMs = 0;

function pairs(withPrimaryAgent = false): PairConfig[] {
	const raw = {
		pairs: ["home", "work", "lab"].map((name) => ({
			name,
			primary: {
				readyUrl: `https://${name}-primary.example.test/readyz`,
				// The replicating scenario reads the primary's agent too (its replication report).
				...(withPrimaryAgent
					? {
							agentUrl: `https://${name}-primary-agent.example.test`,
							agentPublicKey: "ed25519:11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
						}
					: {}),
			},
			// Never contacted by the bench: any well-formed agent key.
			standby: {
				agentUrl: `https://${name}-standby.example.test`,
				agentPublicKey: "ed25519:11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
			},
			minActiveSeconds: 0,
			maxFailoversPerHour: 60,
		})),
	};
	const cpu = process.cpuUsage();
	const config = parseWatchConfig(raw);
	const used = process.cpuUsage(cpu);
	if (parseCpuMs === 0) parseCpuMs = (used.user + used.system) / 1000;
	if (config.errors.length > 0) throw new Error(JSON.stringify(config.errors));
	return [...config.pairs.values()];
}

/** The primary of pair i: healthy, or down for 4 ticks out of every 20 (failover, then failback). */
function gateway(
	mode: "steady" | "flapping" | "replicating",
	pairIndex: number,
	alarm: number,
): boolean {
	if (mode === "steady") return true;
	return (alarm + pairIndex * 7) % 20 >= 4;
}

/** An agent that does what it is told at once and reports the same view of the primary as the Worker. */
function agreeingAgent(primaryUp: () => boolean): AgentClient {
	return {
		async status(): Promise<StandbyView> {
			const ok = primaryUp();
			return {
				reachable: true,
				term: 0,
				gatewayActive: false,
				primary: {
					ok,
					consecutiveFailures: ok ? 0 : 3,
					consecutiveSuccesses: ok ? 3 : 0,
					ageMs: 500,
				},
			};
		},
		async command(cmd) {
			return { ...cmd, result: "succeeded", detail: "done" };
		},
	};
}

/**
 * Both agents report workspace replication as a live pair would: ages and counts that move every tick,
 * and now and then a push failure whose reason changes (auth, then network) and clears, so the
 * events, their dedup and the state writes they cause are all in the figures.
 */
function replicatingAgent(alarm: () => number): AgentClient {
	const at = () => Date.UTC(2026, 0, 1) + alarm() * INTERVAL_MS;
	const replication = (side: "primary" | "standby") => {
		const a = alarm();
		const failing = side === "primary" && a % 200 >= 150;
		return {
			status: {
				mode: side === "primary" ? ("active" as const) : ("standby" as const),
				leaseTerm: side === "primary" ? 0 : null,
				leaseExpiresInMs: side === "primary" ? 40_000 - (a % 6) * 5_000 : null,
				lastPushAt: at() - (a % 6) * 5_000,
				lastPushAgeMs: failing ? (a % 200) * 5_000 : (a % 6) * 5_000,
				pendingCommits: failing ? (a % 200) - 149 : a % 2,
				oldestPendingAgeMs: failing ? ((a % 200) - 149) * 5_000 : null,
				heldBranch: null,
				behindCommits: side === "standby" ? a % 3 : null,
				lastFetchAt: side === "standby" ? at() - (a % 6) * 5_000 : null,
				watch: "watching" as const,
				problem: failing
					? {
							kind: a % 200 < 175 ? "auth" : "remote-unreachable",
							message:
								a % 200 < 175
									? "git push to origin/main failed: Permission denied (publickey)"
									: "git push to origin/main failed: ssh: connect to host git.example.test port 22: Connection timed out",
							hint: "the agent's user cannot write to the remote: give it a deploy key with write access",
							since: at() - ((a % 200) - 150) * 5_000,
						}
					: null,
				refused: ["cache/big.bin", "vendor/nested-repo"],
			},
			agentNow: at(),
			ageMs: 0,
		};
	};
	return {
		async status(): Promise<StandbyView> {
			return {
				reachable: true,
				term: 0,
				gatewayActive: false,
				primary: { ok: true, consecutiveFailures: 0, consecutiveSuccesses: 3, ageMs: 500 },
				replication: replication("standby"),
			} as StandbyView;
		},
		async primaryStatus(): Promise<PrimaryAgentView> {
			return {
				reachable: true,
				term: 0,
				gateway: null,
				maintenanceUntil: null,
				replication: replication("primary"),
			} as PrimaryAgentView;
		},
		async command(cmd) {
			return { ...cmd, result: "succeeded", detail: "done" };
		},
	};
}

interface Stats {
	median: number;
	p99: number;
	max: number;
	mean: number;
}

function stats(samples: number[]): Stats {
	const sorted = [...samples].sort((a, b) => a - b);
	const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
	const round = (x: number) => Math.round(x * 1000) / 1000;
	return {
		median: round(at(0.5)),
		p99: round(at(0.99)),
		max: round(sorted.at(-1) ?? 0),
		mean: round(sorted.reduce((a, b) => a + b, 0) / sorted.length),
	};
}

interface Figures {
	scenario: string;
	alarms: number;
	pairsPerAlarm: number;
	cpuMsPerAlarm: Stats;
	/** Wall time of the same work: a cross-check, since getrusage may count in scheduler ticks. */
	wallMsPerAlarm: Stats;
	rowsWrittenPerAlarm: number;
	/** Rows read from SQLite per alarm after the first load (the Free plan bills rows read too). */
	rowsReadPerAlarm: number;
	/** Size of the pairs' state JSON at the end (all pairs): about what the observation rows carry per alarm. */
	stateJsonBytes: number;
	events: number;
	/** CPU of the very first alarm (cold JIT), as after a deploy or an eviction. */
	firstAlarmCpuMs: number;
}

async function run(mode: "steady" | "flapping" | "replicating"): Promise<Figures> {
	const store = new Store(new NodeSql(new DatabaseSync(":memory:")));
	const configs = pairs(mode === "replicating");
	let now = Date.UTC(2026, 0, 1);
	let alarm = 0;
	// The OpenClaw readiness body the default probe spec expects (protocol/probe-spec.ts).
	const ok = new Response('{"ready":true}', { status: 200 });
	const notReady = new Response(null, { status: 503 });
	let events = 0;
	const deps = configs.map(
		(pair, i): PairTurnDeps => ({
			store,
			pair,
			agent:
				mode === "steady"
					? noAgentClient
					: mode === "replicating"
						? replicatingAgent(() => alarm)
						: agreeingAgent(() => gateway(mode, i, alarm)),
			fetch: async () =>
				(mode === "replicating" || gateway(mode, i, alarm) ? ok : notReady).clone(),
			clock: () => now,
			perfNow: () => performance.now(),
			notify: (_p, e) => {
				events += e.length;
			},
		}),
	);
	const samples: number[] = [];
	const wall: number[] = [];
	let first = 0;
	let rows = 0;
	let read = 0;
	for (; alarm < WARMUP + ALARMS; alarm++) {
		const signal = new AbortController().signal;
		const rowsBefore = store.rowsWritten;
		const readBefore = store.rowsRead;
		const t0 = performance.now();
		const cpu = process.cpuUsage();
		await Promise.all(deps.map((d) => tickPair(d, now, signal)));
		const used = process.cpuUsage(cpu);
		const t1 = performance.now();
		if (alarm === 0) first = (used.user + used.system) / 1000;
		if (alarm >= WARMUP) {
			samples.push((used.user + used.system) / 1000);
			wall.push(t1 - t0);
			rows += store.rowsWritten - rowsBefore;
			read += store.rowsRead - readBefore;
		}
		now += INTERVAL_MS;
	}
	const round = (x: number) => Math.round(x * 1000) / 1000;
	return {
		scenario: mode,
		alarms: ALARMS,
		pairsPerAlarm: configs.length,
		cpuMsPerAlarm: stats(samples),
		wallMsPerAlarm: stats(wall),
		rowsWrittenPerAlarm: round(rows / ALARMS),
		rowsReadPerAlarm: round(read / ALARMS),
		stateJsonBytes: round(
			configs.reduce((n, c) => n + JSON.stringify(store.state(c.name) ?? {}).length, 0),
		),
		events,
		firstAlarmCpuMs: round(first),
	};
}

const results = [await run("steady"), await run("flapping"), await run("replicating")];
console.log(
	`one alarm = ${results[0]?.pairsPerAlarm} pairs ticked (probe via in-process fake fetch, decide, SQLite writes)`,
);
console.log(
	"scenario     alarms  ms/alarm  median     p99     max    mean  rows/alarm  events  read/alarm  state B",
);
const fmt = (x: number) => x.toFixed(3).padStart(7);
for (const r of results) {
	for (const [label, st] of [
		["cpu", r.cpuMsPerAlarm],
		["wall", r.wallMsPerAlarm],
	] as const) {
		const tail =
			label === "cpu"
				? `${r.rowsWrittenPerAlarm.toFixed(2).padStart(11)} ${String(r.events).padStart(7)} ${r.rowsReadPerAlarm.toFixed(2).padStart(11)} ${String(r.stateJsonBytes).padStart(8)}`
				: "";
		console.log(
			`${(label === "cpu" ? r.scenario : "").padEnd(12)} ${(label === "cpu" ? String(r.alarms) : "").padStart(6)}  ${label.padEnd(8)} ${fmt(st.median)} ${fmt(st.p99)} ${fmt(st.max)} ${fmt(st.mean)} ${tail}`,
		);
	}
}
console.log(
	`cold: first alarm ${results[0]?.firstAlarmCpuMs} ms CPU; parsing WATCHDOG_CONFIG (once per isolate) ${parseCpuMs.toFixed(3)} ms CPU`,
);
console.log(
	"Workers Free plan: 10 ms CPU per invocation. Node's V8 and SQLite stand in for workerd's; fsync is not counted (in-memory database).",
);
if (jsonOut)
	writeFileSync(
		jsonOut,
		`${JSON.stringify({ node: process.version, parseCpuMs, results }, null, 2)}\n`,
	);
