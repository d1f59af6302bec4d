// The design's scenario list as runnable, bounded, independent lab runs that measure what happened.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { generateKeyPair, ROUTES, signRequest } from "../../protocol";
import { readIfExists } from "../../test/harness/git-workspace";
import {
	Lab,
	type LabOptions,
	type LabTransport,
	labTransportFromEnv,
	type PairEventView,
} from "../../test/harness/lab";
import { observations } from "./watch";

export interface ScenarioResult {
	name: string;
	/** How the agents reached the watchdog in this run. */
	transport: LabTransport;
	expected: string;
	outcome: string;
	pass: boolean;
	/** Seconds from the fault to the Worker's first failed probe. */
	detectS: number | null;
	/** Seconds from the fault to the promote command (the "promoting" event). */
	promoteCommandS: number | null;
	/** Seconds from the fault to the standby reporting its gateway ready ("promoted"). */
	standbyReadyS: number | null;
	/** Seconds from the primary's return to failback done ("demoted"). */
	demoteS: number | null;
	falsePromotions: number;
	missedPromotions: number;
	notificationsSent: number;
	/** The standby agent's resident memory at the end, MiB. */
	agentRssMiB: number | null;
	/** The agents' traffic with the Worker per probe interval, over the whole scenario. */
	perTick: AgentTraffic | null;
	durationS: number;
	notes: string;
}

/** What the agents and the Worker exchanged, per probe interval (the Worker ticks once an interval). */
export interface AgentTraffic {
	/** WebSocket messages the Worker received from the agents (billed 20 to 1 as requests); 0 over HTTP. */
	wsIn: number;
	/**
	 * HTTP requests on the agents' links: the Worker's subrequests to the agents over HTTP; over
	 * dial-out only the agents' WebSocket upgrades (a reconnect is one).
	 */
	http: number;
}

export interface ScenarioContext {
	lab: Lab;
	/** Marks the moment the fault is injected (detect/promote times count from here). */
	fault(): void;
	/** Marks the moment the primary is healthy again (demote time counts from here). */
	restored(): void;
	sleepIntervals(n: number): Promise<void>;
	/** The first `kind` event since `since` (default: the scenario's start). */
	waitEvent(kind: string, intervalsTimeout: number, since?: number): Promise<PairEventView>;
	note(text: string): void;
}

export interface Scenario {
	name: string;
	expected: string;
	/** Whether a promotion is the right outcome (for false/missed promotion counts). */
	shouldPromote: boolean;
	lab?: LabOptions;
	/** Returns the outcome in words and whether it matched the expectation. */
	run(ctx: ScenarioContext): Promise<{ outcome: string; pass: boolean }>;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Where in the probe interval faults are injected (0 = just after a probe: the slowest to detect). */
const PHASE = 0.5;

/**
 * Until the promote runs: the standby's gateway start has begun. Over HTTP that follows "promoting" at
 * once; with self-fencing the promote first waits for the primary's lease to run out.
 */
async function startBegun(lab: Lab): Promise<void> {
	const end = Date.now() + 20 * lab.interval + lab.fenceWaitMs;
	while (!lab.control.calls.includes("start standby") && Date.now() < end) await sleep(100);
}

function count(events: readonly PairEventView[], kind: string): number {
	return events.filter((e) => e.kind === kind).length;
}

export const SCENARIOS: Scenario[] = [
	{
		name: "hard-down",
		expected: "promote; fail back when the primary returns; no file lost",
		shouldPromote: true,
		async run(c) {
			c.fault();
			await c.lab.primaryGw.stop();
			await c.waitEvent("promoted", 20);
			writeFileSync(join(c.lab.ws.standby, "outage-note.md"), "written on the standby\n");
			await c.lab.primaryGw.start();
			c.restored();
			await c.waitEvent("demoted", 40);
			await c.waitEvent("synced", 10);
			const kept = readIfExists(c.lab.ws.primary, "outage-note.md") === "written on the standby\n";
			return {
				outcome: kept
					? "promoted, failed back, file on the primary"
					: "file missing on the primary",
				pass: kept,
			};
		},
	},
	{
		name: "slow primary",
		expected: "probes time out: promote",
		shouldPromote: true,
		async run(c) {
			c.lab.primaryGw.slowMs = 60_000;
			c.fault();
			c.lab.primaryGw.mode = "slow";
			const p = await c.waitEvent("promoted", 20);
			c.lab.primaryGw.mode = "up";
			return { outcome: `promoted (${p.summary})`, pass: true };
		},
	},
	{
		name: "single-probe blips",
		expected: "no promotion",
		shouldPromote: false,
		async run(c) {
			c.fault();
			// Exactly one failed probe at a time (the Worker's route fails one probe: breakable-proxy.ts), six times.
			for (let i = 0; i < 6; i++) {
				c.lab.proxy.failNext(1);
				await c.sleepIntervals(2);
			}
			const failed = (await observations(c.lab)).filter((o) => !o.ok).length;
			const n = count(await c.lab.events(), "promoting");
			return {
				outcome: `${failed} blips seen, ${n === 0 ? "no promotion" : `${n} promotion(s)`}`,
				pass: n === 0 && failed >= 5,
			};
		},
	},
	{
		name: "gateway restart (12-16 s start at 4 phases)",
		expected: "the primary's agent reports its gateway starting: no promotion",
		shouldPromote: false,
		async run(c) {
			c.fault();
			// OpenClaw-shaped starts (refused, then 503 startup-sidecars, then 200) of 12 to 16 s in all,
			// each begun at another point of the probe cycle.
			const restarts = [
				{ refuseMs: 9_500, startingMs: 2_500, phase: 0 },
				{ refuseMs: 10_500, startingMs: 3_000, phase: 0.25 },
				{ refuseMs: 12_000, startingMs: 3_000, phase: 0.5 },
				{ refuseMs: 13_500, startingMs: 2_500, phase: 0.75 },
			];
			for (const r of restarts) {
				await c.lab.atPhase(r.phase);
				await c.lab.primaryGw.restart(r);
				await c.sleepIntervals(3);
			}
			const failed = (await observations(c.lab)).filter((o) => !o.ok).length;
			const n = count(await c.lab.events(), "promoting");
			const graces = count(await c.lab.events(), "restart-grace");
			return {
				outcome: `${restarts.length} restarts, ${failed} failed probes, ${graces} restart-grace event(s), ${n === 0 ? "no promotion" : `${n} promotion(s)`}`,
				pass: n === 0,
			};
		},
	},
	{
		name: "flapping (fast)",
		expected: "damped: no promotion",
		shouldPromote: false,
		async run(c) {
			c.fault();
			// Down one interval, up one interval: never failThreshold failures in a row.
			for (let i = 0; i < 8; i++) {
				await c.lab.primaryGw.stop();
				await c.sleepIntervals(1);
				await c.lab.primaryGw.start();
				await c.sleepIntervals(1);
			}
			const n = count(await c.lab.events(), "promoting");
			return { outcome: n === 0 ? "no promotion" : `${n} promotion(s)`, pass: n === 0 };
		},
	},
	{
		name: "flapping (slow)",
		expected: "fail over, fail back, fail over again: the failback is then held on the standby",
		shouldPromote: true,
		async run(c) {
			c.fault();
			const down = Date.now();
			await c.lab.primaryGw.stop();
			await c.waitEvent("promoted", 20, down);
			const up = Date.now();
			await c.lab.primaryGw.start();
			c.restored();
			await c.waitEvent("demoted", 40, up);
			const again = Date.now();
			await c.lab.primaryGw.stop();
			await c.waitEvent("failback-held", 20, again);
			await c.waitEvent("promoted", 20, again);
			await c.lab.primaryGw.start();
			await c.sleepIntervals(15);
			const p = await c.lab.pair();
			const n = count(await c.lab.events(), "promoting");
			return {
				outcome: `${n} failovers, resting on the ${p.active} (${p.state})`,
				pass: n === 2 && p.state === "standby-active",
			};
		},
	},
	{
		name: "crash-looping primary",
		expected: "rests on the standby with failback held; never held on the dead primary",
		shouldPromote: true,
		async run(c) {
			c.fault();
			// Ready a few intervals after each restart, then failing again, six times.
			for (let i = 0; i < 6; i++) {
				await c.lab.primaryGw.stop();
				await c.sleepIntervals(5);
				await c.lab.primaryGw.start();
				await c.sleepIntervals(i === 0 ? 12 : 4);
			}
			const p = await c.lab.pair();
			const events = await c.lab.events();
			const held = count(events, "held");
			c.note(`failbacks ${count(events, "demoted")}`);
			return {
				outcome: `rests on the ${p.active} (${p.state}), ${count(events, "promoting")} failovers, ${held} held`,
				pass: p.active === "standby" && held === 0,
			};
		},
	},
	{
		name: "refusing primary (403)",
		expected: "no promotion; one config-problem warning per probe",
		shouldPromote: false,
		async run(c) {
			c.fault();
			c.lab.primaryGw.mode = "forbidden";
			await c.sleepIntervals(12);
			c.lab.primaryGw.mode = "up";
			const events = await c.lab.events();
			const n = count(events, "promoting");
			return {
				outcome: `${n === 0 ? "no promotion" : `${n} promotion(s)`}, ${count(events, "config-problem")} config-problem warnings`,
				pass: n === 0,
			};
		},
	},
	{
		name: "worker-only partition",
		expected: "suspect-partition; no promotion",
		shouldPromote: false,
		async run(c) {
			c.fault();
			c.lab.proxy.break("refuse");
			await c.waitEvent("suspect-partition", 15);
			await c.sleepIntervals(6);
			c.lab.proxy.heal();
			c.restored();
			await c.waitEvent("partition-cleared", 10);
			const n = count(await c.lab.events(), "promoting");
			return {
				outcome: n === 0 ? "suspected a partition, no promotion" : `${n} promotion(s)`,
				pass: n === 0,
			};
		},
	},
	{
		name: "standby-only partition",
		expected: "no promotion (the Worker still sees the primary)",
		shouldPromote: false,
		async run(c) {
			c.fault();
			c.lab.standbyRoute.break("refuse");
			await c.sleepIntervals(8);
			const p = await c.lab.pair();
			c.lab.standbyRoute.heal();
			const n = count(await c.lab.events(), "promoting");
			return {
				outcome: `${n === 0 ? "no promotion" : `${n} promotion(s)`}; standby's view: ${p.witnesses.standby.summary}`,
				pass: n === 0 && p.witnesses.standby.summary.includes("sees the primary down"),
			};
		},
	},
	{
		name: "standby unreachable",
		expected: "alert; both-down without promoting; promote when the standby is back",
		shouldPromote: true,
		async run(c) {
			await c.lab.standbyAgent.kill();
			await c.waitEvent("standby-unreachable", 15);
			c.fault();
			await c.lab.primaryGw.stop();
			await c.waitEvent("both-down", 15);
			const early = count(await c.lab.events(), "promoting");
			await c.lab.standbyAgent.start();
			await c.waitEvent("promoted", 20);
			c.note("promotion waits for the standby agent to answer again");
			return {
				outcome:
					early === 0 ? "alerted, held off, promoted once back" : "promoted while unreachable",
				pass: early === 0,
			};
		},
	},
	{
		name: "agent restart mid-promote",
		expected: "the interrupted promote is retried and completes",
		shouldPromote: true,
		async run(c) {
			c.lab.control.startDelayMs = 3 * c.lab.interval;
			c.fault();
			await c.lab.primaryGw.stop();
			await c.waitEvent("promoting", 20);
			await startBegun(c.lab);
			await c.lab.standbyAgent.kill();
			await c.sleepIntervals(1);
			await c.lab.standbyAgent.start();
			await c.waitEvent("promoted", 30);
			const interrupted = (await c.lab.events()).some(
				(e) => e.kind === "promote-failed" && e.summary.includes("interrupted"),
			);
			return {
				outcome: interrupted ? "interrupted, retried, promoted" : "promoted (no interruption seen)",
				pass: true,
			};
		},
	},
	{
		name: "replayed/forged commands",
		expected: "every one rejected; nothing runs",
		shouldPromote: false,
		async run(c) {
			const base = c.lab.standbyAgent.url;
			const body = JSON.stringify({ opId: "attacker:1", term: 999 });
			const forged = await generateKeyPair();
			const codes: number[] = [];
			const post = async (headers: Record<string, string>, b = body) =>
				codes.push(
					(
						await fetch(`${base}${ROUTES.promote}`, {
							method: "POST",
							headers: { ...headers, "content-type": "application/json" },
							body: b,
						})
					).status,
				);
			await post(
				await signRequest({
					method: "POST",
					path: ROUTES.promote,
					body,
					privateKey: forged.privateKey,
					audience: await c.lab.audience("standby"),
				}),
			);
			const real = await signRequest({
				method: "POST",
				path: ROUTES.promote,
				body,
				privateKey: c.lab.keys.privateKey,
				audience: await c.lab.audience("standby"),
			});
			await post(real, body.replace("999", "998"));
			const status = await signRequest({
				method: "GET",
				path: ROUTES.status,
				privateKey: c.lab.keys.privateKey,
				audience: await c.lab.audience("standby"),
			});
			await fetch(`${base}${ROUTES.status}`, { headers: status });
			codes.push((await fetch(`${base}${ROUTES.status}`, { headers: status })).status);
			await post({});
			await c.sleepIntervals(1);
			const ran = c.lab.control.calls.length;
			const allRejected = codes.every((s) => s >= 400 && s < 500);
			return {
				outcome: `answers ${codes.join(", ")}; steps run: ${ran}`,
				pass: allRejected && ran === 0,
			};
		},
	},
	{
		name: "webhook endpoint down",
		expected: "promote on time; the failed delivery shows in status",
		shouldPromote: true,
		async run(c) {
			c.lab.webhook.failing = true;
			c.fault();
			await c.lab.primaryGw.stop();
			await c.waitEvent("promoted", 20);
			// Delivery gives up after 3 attempts (1 s and 2 s backoff).
			await sleep(5_000);
			const p = await c.lab.pair();
			const shown = p.notifications.last.webhook?.ok === false;
			return {
				outcome: shown ? "promoted; delivery failure in status" : "failure not shown",
				pass: shown,
			};
		},
	},
	{
		name: "primary back during promotion",
		expected: "the promotion completes; one failback; no flapping",
		shouldPromote: true,
		async run(c) {
			c.lab.control.startDelayMs = 2 * c.lab.interval;
			c.fault();
			await c.lab.primaryGw.stop();
			await c.waitEvent("promoting", 20);
			await startBegun(c.lab);
			await c.lab.primaryGw.start();
			c.restored();
			await c.waitEvent("demoted", 60);
			await c.sleepIntervals(3);
			const events = await c.lab.events();
			const ok = count(events, "promoting") === 1 && count(events, "demoting") === 1;
			return { outcome: ok ? "one promotion, one failback" : "flapped", pass: ok };
		},
	},
	{
		name: "both down",
		expected: "both-down alert; no promotion; recovered when the primary returns",
		shouldPromote: false,
		async run(c) {
			await c.lab.standbyAgent.kill();
			c.fault();
			await c.lab.primaryGw.stop();
			await c.waitEvent("both-down", 20);
			await c.lab.primaryGw.start();
			c.restored();
			await c.waitEvent("recovered", 10);
			const n = count(await c.lab.events(), "promoting");
			return { outcome: n === 0 ? "alerted, recovered" : `${n} promotion(s)`, pass: n === 0 };
		},
	},
];

function rssMiB(pid: number | undefined): number | null {
	if (pid === undefined) return null;
	try {
		const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
		return m?.[1] ? Math.round((Number(m[1]) / 1024) * 10) / 10 : null;
	} catch {
		return null;
	}
}

type WithConnections = { connections?: Partial<Record<string, { frames: number }>> };

/** The agents' counters now: WebSocket frames the Worker received, HTTP requests on the agents' links. */
async function trafficCount(lab: Lab): Promise<{ at: number; wsIn: number; http: number }> {
	const c = ((await lab.pair()) as unknown as WithConnections).connections ?? {};
	const links = lab.agentLinks;
	return {
		at: Date.now(),
		wsIn: (c.primary?.frames ?? 0) + (c.standby?.frames ?? 0),
		http: links.primary.requests + links.standby.requests,
	};
}

/** Runs one scenario in a fresh lab; never throws (a failure is a result). */
export async function runScenario(
	s: Scenario,
	base: LabOptions,
	log?: (line: string) => void,
): Promise<ScenarioResult> {
	const started = Date.now();
	let lab: Lab | undefined;
	let faultAt: number | null = null;
	let restoredAt: number | null = null;
	const notes: string[] = [];
	let outcome = "";
	let pass = false;
	let traffic0: Awaited<ReturnType<typeof trafficCount>> | null = null;
	let perTick: AgentTraffic | null = null;
	try {
		lab = await Lab.create({ ...base, ...s.lab });
		const l = lab;
		traffic0 = await trafficCount(l).catch(() => null);
		// The lab is ready right after a tick; a fault half an interval later lands at the average phase,
		// not at the worst case (just after a probe), so times are the mean a real outage would see.
		await sleep(PHASE * l.interval);
		const ctx: ScenarioContext = {
			lab: l,
			fault: () => {
				faultAt = Date.now();
			},
			restored: () => {
				restoredAt ??= Date.now();
			},
			sleepIntervals: (n) => sleep(n * l.interval),
			waitEvent: (kind, n, since = started) => l.waitForEvent(kind, since, n * l.interval),
			note: (t) => notes.push(t),
		};
		({ outcome, pass } = await s.run(ctx));
	} catch (e) {
		outcome = `error: ${(e as Error).message}`;
		pass = false;
	}
	let events: PairEventView[] = [];
	let detectS: number | null = null;
	let agentRssMiB: number | null = null;
	if (lab) {
		events = await lab.events().catch(() => []);
		const fault = faultAt;
		if (fault !== null) {
			const obs = await observations(lab).catch(() => []);
			const first = obs.find((o) => !o.ok && o.at >= fault - lab.interval);
			detectS = first ? Math.max(0, (first.at + first.ms - fault) / 1000) : null;
		}
		agentRssMiB = rssMiB(lab.standbyAgent?.pid);
		const traffic1 = await trafficCount(lab).catch(() => null);
		if (traffic0 && traffic1 && traffic1.at > traffic0.at) {
			const ticks = (traffic1.at - traffic0.at) / lab.interval;
			const per = (n: number) => Math.round((n / ticks) * 100) / 100;
			perTick = {
				wsIn: per(traffic1.wsIn - traffic0.wsIn),
				http: per(traffic1.http - traffic0.http),
			};
		}
	}
	const secs = (at: number | undefined, from: number | null) =>
		at === undefined || from === null ? null : Math.round((at - from) / 100) / 10;
	const after = (kind: string, from: number | null) =>
		from === null ? undefined : events.find((e) => e.kind === kind && e.at >= from)?.at;
	const promotions = count(events, "promoting");
	const result: ScenarioResult = {
		name: s.name,
		transport: lab?.transport ?? base.transport ?? labTransportFromEnv(),
		expected: s.expected,
		outcome,
		pass,
		detectS: detectS === null ? null : Math.round(detectS * 10) / 10,
		promoteCommandS: secs(after("promoting", faultAt), faultAt),
		standbyReadyS: secs(after("promoted", faultAt), faultAt),
		demoteS: secs(after("demoted", restoredAt), restoredAt),
		falsePromotions: s.shouldPromote ? 0 : promotions,
		missedPromotions: s.shouldPromote && promotions === 0 ? 1 : 0,
		notificationsSent: lab?.webhook.received.length ?? 0,
		agentRssMiB,
		perTick,
		durationS: Math.round((Date.now() - started) / 100) / 10,
		notes: notes.join("; "),
	};
	log?.(`${result.pass ? "PASS" : "FAIL"} ${s.name} (${result.transport}): ${outcome}`);
	await lab?.stop();
	return result;
}
