// Test helpers for replication: a lease holder fed by a real watchdog key, and a replicator on real repos.

import { afterAll, afterEach, beforeAll, beforeEach } from "vitest";
import type { Logger } from "../../../agent/src/log";
import { ReplicationConfigSchema } from "../../../agent/src/replication/config";
import { LeaseHolder } from "../../../agent/src/replication/lease-holder";
import { Replicator } from "../../../agent/src/replication/replicator";
import type { GitCapture } from "../../../agent/src/steps/git-session";
import { generateKeyPair, type Lease, type Role, signLease } from "../../../protocol";
import { isolateGitConfig, makeRepos, type Repos, tempDir } from "../steps/helpers";

export interface Clock {
	now: () => number;
	advance(ms: number): void;
}

/**
 * Real time plus an offset tests move forward by hand: file mtimes (set by the OS) compare sensibly with
 * it, and settle or hold times pass without sleeping.
 */
export function clock(): Clock {
	let offset = 0;
	return { now: () => Date.now() + offset, advance: (ms) => (offset += ms) };
}

export interface LoggedLine {
	level: string;
	msg: string;
	fields?: Record<string, unknown>;
}

export function memoryLog(): Logger & { lines: LoggedLine[] } {
	const lines: LoggedLine[] = [];
	const at = (level: string) => (msg: string, fields?: Readonly<Record<string, unknown>>) =>
		lines.push({ level, msg, ...(fields ? { fields: { ...fields } } : {}) });
	return { lines, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

export interface Watchdog {
	keys: CryptoKey[];
	/** Signs a lease and offers it to the holder, as a status request would. */
	grant(
		holder: LeaseHolder,
		fields: Partial<Lease> & { active: Role | null; term: number },
	): Promise<void>;
}

export async function watchdog(now: () => number): Promise<Watchdog> {
	const pair = await generateKeyPair();
	return {
		keys: [pair.publicKey],
		async grant(holder, fields) {
			const text = await signLease(
				{ pair: "p", issuedAt: now(), leaseSeconds: 30, ...fields },
				pair.privateKey,
			);
			const offered = await holder.offer(text);
			if (offered.kind !== "kept") throw new Error(`lease not kept: ${JSON.stringify(offered)}`);
		},
	};
}

export interface Rig {
	replicator: Replicator;
	lease: LeaseHolder;
	log: ReturnType<typeof memoryLog>;
}

/** A replicator for `workspace` on `side`, settle time 0 unless the config says otherwise, no timers started. */
export function rig(
	workspace: string,
	side: Role,
	wd: Watchdog,
	c: Clock,
	config: Record<string, unknown> = {},
	git?: GitCapture,
): Rig {
	const log = memoryLog();
	const lease = new LeaseHolder({ publicKeys: wd.keys, side, now: c.now });
	const replicator = new Replicator({
		workspace,
		side,
		config: ReplicationConfigSchema.parse({ enabled: true, settleSeconds: 0, ...config }),
		lease,
		log,
		now: c.now,
		liveGit: async () => false,
		...(git ? { git } : {}),
	});
	return { replicator, lease, log };
}

/** One test's world: fresh repositories (work, other, bare remote), a clock and a watchdog key. */
export interface ReplicationCase {
	root: ReturnType<typeof tempDir>;
	repos: Repos;
	c: Clock;
	wd: Watchdog;
}

/**
 * Registers the hooks every replication test file needs: git config isolated under a temporary home
 * for the file, and a fresh ReplicationCase per test (removed after it). Read the fields inside tests
 * only: they are replaced before each one.
 */
export function useReplicationCase(name: string): ReplicationCase {
	const t = {} as ReplicationCase;
	const base = tempDir(name);
	let restoreEnv: () => void;
	beforeAll(() => {
		restoreEnv = isolateGitConfig(base.path);
	});
	afterAll(() => {
		restoreEnv();
		base.remove();
	});
	beforeEach(async () => {
		t.root = tempDir(`${name}-case`);
		t.repos = makeRepos(t.root.path);
		t.c = clock();
		t.wd = await watchdog(t.c.now);
	});
	afterEach(() => t.root.remove());
	return t;
}
