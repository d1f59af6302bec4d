// The recovery point: a writer appends a line every second on the primary; at a hard fault, how old is the standby's newest line?
import { execFileSync } from "node:child_process";
import {
	appendFileSync,
	mkdirSync,
	mkdtempSync,
	readFileSync,
	rmSync,
	writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ReplicationConfigSchema } from "../../agent/src/replication/config";
import { LeaseHolder } from "../../agent/src/replication/lease-holder";
import { Replicator } from "../../agent/src/replication/replicator";
import { runStep } from "../../agent/src/steps/run-step";
import { StepSchema } from "../../agent/src/steps/schema";
import { generateKeyPair, signLease } from "../../protocol";

export interface RpoResult {
	intervalSeconds: number;
	/** Recovery point of each trial, s: the newest line written on the primary minus the newest the standby has. */
	trialsS: number[];
	worstS: number;
	medianS: number;
	/** The standby's git-sync on promote, ms, per trial (the warm copy was fetched by replication). */
	promoteMs: number[];
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const quiet = { debug() {}, info() {}, warn() {}, error() {} };
/** The watchdog ticks every 5 s by default: the lease is renewed on that clock. */
const TICK_MS = 5_000;

function git(cwd: string, ...args: string[]): string {
	return execFileSync("git", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** Newest line's write time (ms) in the standby's copy of the log, or null when it has none. */
function newestLine(file: string): number | null {
	let text: string;
	try {
		text = readFileSync(file, "utf8");
	} catch {
		return null;
	}
	const lines = text
		.trim()
		.split("\n")
		.filter((l) => l !== "");
	const last = lines.at(-1)?.split(" ")[2];
	return last === undefined ? null : Number(last);
}

async function trial(
	intervalSeconds: number,
	index: number,
): Promise<{ rpoS: number; promoteMs: number }> {
	const root = mkdtempSync(join(tmpdir(), `fg-rpo-${intervalSeconds}-${index}-`));
	try {
		const remote = join(root, "remote.git");
		const primary = join(root, "primary");
		const standby = join(root, "standby");
		git(root, "init", "-q", "--bare", "-b", "main", remote);
		git(root, "clone", "-q", remote, primary);
		mkdirSync(join(primary, "memory"));
		writeFileSync(join(primary, "MEMORY.md"), "seed\n");
		git(primary, "checkout", "-q", "-b", "main");
		git(primary, "add", "-A");
		git(primary, "-c", "user.name=seed", "-c", "user.email=seed@x", "commit", "-qm", "seed");
		git(primary, "push", "-q", "origin", "main");
		git(root, "clone", "-q", "-b", "main", remote, standby);

		const keys = await generateKeyPair();
		const lease = new LeaseHolder({ publicKeys: [keys.publicKey], side: "primary", now: Date.now });
		const grant = async () =>
			lease.offer(
				await signLease(
					{ pair: "bench", active: "primary", term: 1, issuedAt: Date.now(), leaseSeconds: 30 },
					keys.privateKey,
				),
			);
		await grant();
		const ticks = setInterval(() => void grant(), TICK_MS);
		const replicator = new Replicator({
			workspace: primary,
			side: "primary",
			config: ReplicationConfigSchema.parse({
				enabled: true,
				replicateIntervalSeconds: intervalSeconds,
			}),
			lease,
			log: quiet,
		});
		replicator.start();
		const log = join(primary, "memory", "log.md");
		let n = 0;
		let lastWritten = 0;
		const writer = setInterval(() => {
			lastWritten = Date.now();
			appendFileSync(log, `line ${++n} ${lastWritten}\n`);
		}, 1_000);

		// The fault lands at a uniformly random point of a later interval, so every phase of the cycle is hit.
		await sleep((2 + Math.random()) * intervalSeconds * 1000);
		clearInterval(writer); // hard down: nothing is written or pushed after this instant
		clearInterval(ticks);
		const faultAt = lastWritten;
		// A push still in flight at the fault would not complete on a dead host: the remote is put back to
		// what it held at this instant once the replicator has stopped.
		const atFault = git(remote, "rev-parse", "refs/heads/main").trim();
		await replicator.stop();
		git(remote, "update-ref", "refs/heads/main", atFault);

		const started = performance.now();
		const outcome = await runStep(StepSchema.parse({ type: "git-sync" }), {
			workspace: standby,
			gatewayUnit: { name: "openclaw-gateway.service", scope: "system" },
			readyUrl: "http://127.0.0.1:9/readyz",
			action: "promote",
			side: "standby",
			git: { identity: { name: "bench", email: "bench@localhost" } },
		});
		const promoteMs = Math.round(performance.now() - started);
		if (outcome.status !== "succeeded") throw new Error(`promote failed: ${outcome.error}`);
		const newest = newestLine(join(standby, "memory", "log.md"));
		// No line at all on the standby: everything since the writer started is lost.
		const rpoMs = faultAt - (newest ?? faultAt - n * 1000);
		return { rpoS: Math.max(0, Math.round(rpoMs / 100) / 10), promoteMs };
	} finally {
		rmSync(root, { recursive: true, force: true });
	}
}

/** Runs `trials` independent trials at once (each its own repositories) and summarises them. */
export async function measureRpo(intervalSeconds: number, trials: number): Promise<RpoResult> {
	const empty = join(mkdtempSync(join(tmpdir(), "fg-rpo-cfg-")), "gitconfig");
	writeFileSync(empty, "");
	// A clean machine: no global identity or hooks, as under the agent's unit.
	process.env.GIT_CONFIG_GLOBAL = empty;
	process.env.GIT_CONFIG_NOSYSTEM = "1";
	const results = await Promise.all(
		Array.from({ length: trials }, (_, i) => sleep(i * 700).then(() => trial(intervalSeconds, i))),
	);
	const sorted = results.map((r) => r.rpoS).sort((a, b) => a - b);
	return {
		intervalSeconds,
		trialsS: results.map((r) => r.rpoS),
		worstS: sorted.at(-1) ?? 0,
		medianS: sorted[Math.floor(sorted.length / 2)] ?? 0,
		promoteMs: results.map((r) => r.promoteMs),
	};
}
