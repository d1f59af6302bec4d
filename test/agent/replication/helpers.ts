// Test helpers for replication: a lease holder fed by a real watchdog key, and a replicator on real repos.

import type { Logger } from "../../../agent/src/log";
import { ReplicationConfigSchema } from "../../../agent/src/replication/config";
import { LeaseHolder } from "../../../agent/src/replication/lease-holder";
import { Replicator } from "../../../agent/src/replication/replicator";
import type { GitCapture } from "../../../agent/src/steps/git-session";
import { generateKeyPair, type Lease, type Role, signLease } from "../../../protocol";

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
