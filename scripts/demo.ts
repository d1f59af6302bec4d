// `npm run demo`: a narrated failover drill on this machine: real Worker (local workerd), real agents, stand-in gateways.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { git, readIfExists } from "../test/harness/git-workspace";
import { Lab, type PairEventView } from "../test/harness/lab";
import { type TimelineEntry, Watcher } from "./lib/watch";

const HELP = `Usage: npm run demo -- [--interval S] [--timeout S]

A full failover drill on this machine, no accounts needed: the watchdog Worker in
local workerd, a real failover-agent on the "standby", two stand-in gateways, and a
git workspace with a remote. It kills the primary, shows the promotion, writes a
file on the standby, brings the primary back, and shows the failback.

  --interval S   probe interval in seconds (default 2; the product's default is 5)
  --timeout S    give up after this many seconds (default 110)`;

let values: { interval: string; timeout: string; help: boolean };
try {
	values = parseArgs({
		args: process.argv.slice(2),
		options: {
			interval: { type: "string", default: "2" },
			timeout: { type: "string", default: "110" },
			help: { type: "boolean", short: "h", default: false },
		},
		strict: true,
	}).values as typeof values;
} catch (e) {
	console.error(`demo: ${(e as Error).message}\n\n${HELP}`);
	process.exit(2);
}
if (values.help) {
	console.log(HELP);
	process.exit(0);
}
const interval = Number(values.interval);
const timeoutS = Number(values.timeout);
if (!Number.isInteger(interval) || interval < 1 || interval > 30) {
	console.error(`demo: --interval: expected whole seconds from 1 to 30, got "${values.interval}"`);
	process.exit(2);
}
if (!Number.isFinite(timeoutS) || timeoutS < 10) {
	console.error(`demo: --timeout: expected at least 10 seconds, got "${values.timeout}"`);
	process.exit(2);
}

const color = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code: string) => (s: string) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
const bold = paint("1");
const dim = paint("2");
const green = paint("32");
const red = paint("31");
const yellow = paint("33");
const blue = paint("34");
const STATE_COLOR: Record<string, (s: string) => string> = {
	"primary-active": green,
	"standby-active": blue,
	promoting: yellow,
	demoting: yellow,
	"suspect-partition": yellow,
	held: red,
	"both-down": red,
	paused: dim,
};

const t0 = Date.now();
const clock = (at = Date.now()) => `[${((at - t0) / 1000).toFixed(1).padStart(5)}s]`;
const say = (text: string, at?: number) => console.log(`${dim(clock(at))} ${text}`);

interface Step {
	name: string;
	expected: string;
	ok: boolean;
	atS: number | null;
	detail: string;
}
const steps: Step[] = [];
let stepNo = 0;
const TOTAL_STEPS = 7;

/** What each step shows, in one line, printed as it starts. */
const EXPLAIN: Record<string, string> = {
	"start everything":
		"wrangler dev runs the Worker; the cron backstop arms the Durable Object's alarm loop.",
	healthy:
		"The Worker probes the primary's /readyz; the standby agent probes it too and reports its view.",
	"kill the primary's gateway":
		"Promotion needs 3 failed probes in a row (failThreshold) AND the standby agreeing: one vantage point is never enough.",
	promotion:
		"A signed promote command (Ed25519, term 1): git pull, start the gateway, wait for /readyz.",
	"the standby writes":
		"What the old bash monitor lost: work done on the standby during the outage.",
	"bring the primary back":
		"No failback on one good probe: 3 in a row (recoverThreshold) and a minimum time on the standby first.",
	"nothing lost": "The standby committed and pushed on demote; the primary's agent pulled (sync).",
};

async function step(name: string, expected: string, body: () => Promise<string>): Promise<void> {
	stepNo += 1;
	say(bold(`▶ step ${stepNo}/${TOTAL_STEPS}  ${name}`));
	if (EXPLAIN[name]) say(dim(`  ${EXPLAIN[name]}`));
	const started = Date.now();
	try {
		const detail = await body();
		// Print what the Worker logged up to now before concluding the step.
		await watcher?.poll().catch(() => {});
		steps.push({ name, expected, ok: true, atS: (Date.now() - t0) / 1000, detail });
		say(`  ${green("✓")} ${detail} ${dim(`(${((Date.now() - started) / 1000).toFixed(1)} s)`)}`);
	} catch (e) {
		steps.push({ name, expected, ok: false, atS: null, detail: (e as Error).message });
		say(`  ${red("✗")} ${(e as Error).message}`);
		throw e;
	}
}

function printEntry(e: TimelineEntry): void {
	if (e.kind === "state") {
		const paintState = STATE_COLOR[e.state] ?? ((s: string) => s);
		say(`  state ${paintState(e.state)}`, e.at);
		return;
	}
	if (e.text.startsWith("notification")) {
		say(dim(`  ✉ ${e.text}`), e.at);
		return;
	}
	say(`  ${e.text}`, e.at);
	for (const ev of e.evidence) say(dim(`      ${ev}`), e.at);
}

let lab: Lab | undefined;
let watcher: Watcher | undefined;
let finished = false;

async function cleanup(): Promise<void> {
	watcher?.stop();
	await lab?.stop();
}

for (const sig of ["SIGINT", "SIGTERM"] as const) {
	process.on(sig, () => {
		if (finished) return;
		finished = true;
		console.log(`\n${yellow(`${sig}: stopping every process the demo started...`)}`);
		void cleanup().finally(() => process.exit(130));
	});
}
const deadline = setTimeout(() => {
	if (finished) return;
	finished = true;
	console.error(red(`\ndemo: gave up after ${timeoutS} s (see --timeout); cleaning up`));
	void cleanup().finally(() => process.exit(1));
}, timeoutS * 1000);

const waitEvent = (kind: string, since: number, intervals: number): Promise<PairEventView> => {
	if (!lab) throw new Error("no lab");
	return lab.waitForEvent(kind, since, intervals * interval * 1000);
};

console.log(
	bold("failover-gateway demo") +
		` — a failover drill on this machine, probe interval ${interval} s\n` +
		dim(
			"  The watchdog Worker runs in local workerd; a real failover-agent runs for the standby;\n" +
				"  two small HTTP servers with /readyz stand in for the OpenClaw gateways.\n",
		),
);

try {
	await step("start everything", "worker, agents, gateways up; pair watched", async () => {
		lab = await Lab.create({
			intervalSeconds: interval,
			failThreshold: 3,
			recoverThreshold: 3,
			minActiveSeconds: 4 * interval,
			recoverSeconds: 4 * interval,
		});
		say(`  dashboard: ${bold(`${lab.worker.url}/`)}  ${dim(`(admin token: ${lab.adminToken})`)}`);
		say(dim(`  workspaces: ${lab.root}`));
		watcher = new Watcher(lab, printEntry);
		watcher.start(200);
		return "the Worker's alarm loop is probing the primary";
	});
	const l = lab as unknown as Lab;

	await step("healthy", "primary active; both witnesses see it up", async () => {
		await new Promise((r) => setTimeout(r, 2 * interval * 1000));
		const p = await l.pair();
		if (p.state !== "primary-active") throw new Error(`state is ${p.state}`);
		if (!p.witnesses.standby.summary.includes("sees the primary up")) {
			throw new Error(`standby's view: ${p.witnesses.standby.summary}`);
		}
		return `worker probe ok; ${p.witnesses.standby.summary}`;
	});

	const killedAt = Date.now();
	await step("kill the primary's gateway", "witnesses agree it is down; promote", async () => {
		await l.primaryGw.stop();
		say(red("  ✂ primary gateway stopped (connections refused)"));
		const promoting = await waitEvent("promoting", killedAt, 20);
		const standbySaw = promoting.evidence.find((e) => e.witness === "standby")?.saw ?? "";
		if (!standbySaw.includes("sees the primary down"))
			throw new Error(`standby saw: ${standbySaw}`);
		return `promote command ${((promoting.at - killedAt) / 1000).toFixed(1)} s after the kill (${((promoting.at - killedAt) / (interval * 1000)).toFixed(1)} intervals): worker and standby agree`;
	});

	await step("promotion", "standby pulls, starts its gateway, is ready", async () => {
		const promoted = await waitEvent("promoted", killedAt, 30);
		const r = await fetch(l.standbyGw.readyUrl, { signal: AbortSignal.timeout(2000) });
		if (!r.ok) throw new Error(`standby gateway answers ${r.status}`);
		return `standby serving ${((promoted.at - killedAt) / 1000).toFixed(1)} s after the kill`;
	});

	await step("the standby writes", "a file written while the standby serves", async () => {
		mkdirSync(join(l.ws.standby, "memory"), { recursive: true });
		writeFileSync(join(l.ws.standby, "memory", "during-outage.md"), "Written on the standby.\n");
		return "wrote memory/during-outage.md in the standby's workspace (not committed yet)";
	});

	const backAt = Date.now();
	await step(
		"bring the primary back",
		"hysteresis, then failback: stop, commit+push, pull",
		async () => {
			await l.primaryGw.start();
			say(green("  ↺ primary gateway started again"));
			const demoted = await waitEvent("demoted", backAt, 40);
			await waitEvent("synced", backAt, 20);
			if (l.standbyGw.running) throw new Error("the standby gateway is still running");
			return `failback done ${((demoted.at - backAt) / 1000).toFixed(1)} s after the primary came back (recoverThreshold 3 probes, minActiveSeconds ${4 * interval})`;
		},
	);

	await step("nothing lost", "the standby's file is in the primary's workspace", async () => {
		const text = readIfExists(join(l.ws.primary, "memory"), "during-outage.md");
		if (text !== "Written on the standby.\n") throw new Error("the file is not on the primary");
		return `memory/during-outage.md is on the primary (commit "${git(l.ws.primary, "log", "-1", "--format=%s")}")`;
	});
} catch {
	// Reported in the summary below.
}

finished = true;
clearTimeout(deadline);
await new Promise((r) => setTimeout(r, 300));
watcher?.stop();
await watcher?.poll().catch(() => {});

console.log(`\n${bold("Summary")}`);
const w = Math.max(...steps.map((s) => s.name.length), 4);
console.log(dim(`  ${"step".padEnd(w)}  result  at (s)  expected`));
for (const s of steps) {
	console.log(
		`  ${s.name.padEnd(w)}  ${s.ok ? green("ok    ") : red("FAILED")}  ${(s.atS === null ? "-" : s.atS.toFixed(1)).padStart(6)}  ${s.expected}`,
	);
}
const ok = steps.length === TOTAL_STEPS && steps.every((s) => s.ok);
console.log(
	ok
		? green(`\nAll ${TOTAL_STEPS} steps passed in ${((Date.now() - t0) / 1000).toFixed(0)} s.`)
		: red(`\nThe drill did not complete: ${steps.find((s) => !s.ok)?.detail ?? "stopped early"}`),
);
await cleanup();
process.exit(ok ? 0 : 1);
