// Promote time with the warm copy (replication fetched all along) against today's cold `git pull`, same run.
import { execFileSync } from "node:child_process";
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ReplicationConfigSchema } from "../../agent/src/replication/config";
import { LeaseHolder } from "../../agent/src/replication/lease-holder";
import { Replicator } from "../../agent/src/replication/replicator";
import { runStep } from "../../agent/src/steps/run-step";
import { StepSchema } from "../../agent/src/steps/schema";
import type { StepContext } from "../../agent/src/steps/types";
import { generateKeyPair } from "../../protocol";

export interface PromoteTimeResult {
	/** Commits the primary pushed after the standbys were cloned (the cold ones never fetched them). */
	commits: number;
	/** Files in the workspace, and its size on the remote (KiB, `git count-objects`). */
	files: number;
	remoteKiB: number;
	/** The standby's promote git step, ms per trial. */
	warmSyncMs: number[];
	coldPullMs: number[];
	coldSyncMs: number[];
}

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const IDENTITY = ["-c", "user.name=bench", "-c", "user.email=bench@localhost"];

function git(cwd: string, ...args: string[]): string {
	return execFileSync("git", [...IDENTITY, ...args], {
		cwd,
		encoding: "utf8",
		stdio: ["ignore", "pipe", "pipe"],
	});
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

/**
 * A workspace of `files` memory files (4 KiB each, like months of daily notes) on a bare remote, and
 * `trials` standby clones of each kind taken at the start. The primary then makes `commits` replication
 * commits (each appends to today's file and rewrites MEMORY.md; at 30 s per commit, 200 is 100 minutes
 * of writes), pushed in batches of ten. The warm standbys run the real replicator (no lease: fetch only)
 * every 50 commits and last ten commits before the fault. Then, in
 * the same run: the warm standby's promote step (`git-sync`), a cold standby's old one (`git-pull`,
 * fetching everything at that moment), and `git-sync` on a cold standby (the new step without the warm copy).
 */
export async function measurePromoteTime(
	commits = 200,
	files = 200,
	trials = 3,
): Promise<PromoteTimeResult> {
	const root = mkdtempSync(join(tmpdir(), "fg-promote-"));
	const empty = join(root, "gitconfig");
	writeFileSync(empty, "");
	// A clean machine: no global identity or hooks, as under the agent's unit.
	process.env.GIT_CONFIG_GLOBAL = empty;
	process.env.GIT_CONFIG_NOSYSTEM = "1";
	try {
		const remote = join(root, "remote.git");
		const primary = join(root, "primary");
		git(root, "init", "-q", "--bare", "-b", "main", remote);
		git(root, "clone", "-q", remote, primary);
		git(primary, "checkout", "-q", "-b", "main");
		mkdirSync(join(primary, "memory"));
		const page = "x".repeat(80);
		for (let i = 0; i < files; i++) {
			const day = new Date(Date.UTC(2026, 0, 1) + i * 86_400_000).toISOString().slice(0, 10);
			writeFileSync(
				join(primary, "memory", `${day}.md`),
				`${Array.from({ length: 50 }, (_, l) => `${day} note ${l} ${page}`).join("\n")}\n`,
			);
		}
		writeFileSync(join(primary, "MEMORY.md"), "# memory\n");
		git(primary, "add", "-A");
		git(primary, "commit", "-qm", "seed");
		git(primary, "push", "-q", "origin", "main");

		const clone = (name: string) => {
			const dir = join(root, name);
			git(root, "clone", "-q", "-b", "main", remote, dir);
			return dir;
		};
		const kinds = Array.from({ length: trials }, (_, i) => ({
			warm: clone(`warm-${i}`),
			coldPull: clone(`cold-pull-${i}`),
			coldSync: clone(`cold-sync-${i}`),
		}));
		const keys = await generateKeyPair();
		let fakeNow = Date.now();
		const warmers = kinds.map(
			(k) =>
				new Replicator({
					workspace: k.warm,
					side: "standby",
					config: ReplicationConfigSchema.parse({ enabled: true, replicateIntervalSeconds: 30 }),
					lease: new LeaseHolder({ publicKeys: [keys.publicKey], side: "standby", now: Date.now }),
					log: quiet,
					// Each cycle is a new interval: the replicator fetches at most once per interval.
					now: () => (fakeNow += 31_000),
				}),
		);

		const today = join(primary, "memory", "2026-11-29.md");
		for (let c = 1; c <= commits; c++) {
			appendFileSync(today, `line ${c} ${page}\n`);
			writeFileSync(join(primary, "MEMORY.md"), `# memory\nlast update ${c}\n`);
			git(primary, "add", "-A");
			git(primary, "commit", "-qm", `failover-gateway: primary at term 1 (${c})`);
			// Pushed in batches of ten (the remote's history is the same; one push per commit only made
			// the setup slow on a loaded machine). The warm standbys fetch now and then, and last one
			// batch before the fault: a standby fetching every interval is about that far behind.
			if (c % 10 === 0 || c === commits) git(primary, "push", "-q", "origin", "main");
			if ((c % 50 === 0 && c < commits - 10) || c === commits - 10)
				for (const w of warmers) await w.cycle();
		}
		// Loose objects ("size") plus packs ("size-pack"), KiB.
		const counted = git(remote, "count-objects", "-v");
		const kib = (field: string) =>
			Number(new RegExp(`^${field}: (\\d+)`, "m").exec(counted)?.[1] ?? 0);
		const remoteKiB = kib("size") + kib("size-pack");

		const ctx = (workspace: string): StepContext => ({
			workspace,
			gatewayUnit: { name: "openclaw-gateway.service", scope: "system" },
			readyUrl: "http://127.0.0.1:9/readyz",
			action: "promote",
			side: "standby",
			git: { identity: { name: "bench", email: "bench@localhost" } },
		});
		const timed = async (type: "git-sync" | "git-pull", workspace: string) => {
			const started = performance.now();
			const out = await runStep(StepSchema.parse({ type }), ctx(workspace));
			const ms = Math.round(performance.now() - started);
			if (out.status !== "succeeded") throw new Error(`${type} failed: ${out.error}`);
			return ms;
		};
		const result: PromoteTimeResult = {
			commits,
			files: files + 2,
			remoteKiB,
			warmSyncMs: [],
			coldPullMs: [],
			coldSyncMs: [],
		};
		// Interleaved, so a burst of load on the shared machine falls on every kind alike.
		for (const k of kinds) {
			result.warmSyncMs.push(await timed("git-sync", k.warm));
			result.coldPullMs.push(await timed("git-pull", k.coldPull));
			result.coldSyncMs.push(await timed("git-sync", k.coldSync));
		}
		return result;
	} finally {
		rmSync(root, { recursive: true, force: true });
	}
}

/** One line for the bench's output. */
export function describePromoteTime(r: PromoteTimeResult): string {
	const f = (xs: number[]) => `median ${median(xs)} ms (${xs.join(", ")})`;
	return `after ${r.commits} commits the standby never fetched (${r.files} files, remote ${r.remoteKiB} KiB): warm copy git-sync ${f(r.warmSyncMs)}; cold git-pull (today's) ${f(r.coldPullMs)}; cold git-sync ${f(r.coldSyncMs)}`;
}
