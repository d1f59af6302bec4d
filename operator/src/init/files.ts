// What `init` reads from an earlier run (the key, the admin token, other pairs) and the files it writes.
import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type KeyFileResult, writePrivateKeyFile } from "../../../agent/src/commands/keygen";
import { generateKeyPair, publicKeyTextOf } from "../../../protocol";
import type { AgentPlan } from "./deployment";
import { agentFiles } from "./steps";
import { agentUnitFile, polkitRuleFile } from "./unit-file";

type KeyResult =
	| { ok: true; privateKeyText: string; publicKeyText: string; reused: boolean }
	| { ok: false; message: string };

/** Reuses an existing key file (so running init again keeps the agents' key), or makes one. */
export async function watchdogKey(file: string, force: boolean): Promise<KeyResult> {
	if (!force) {
		const existing = await readFile(file, "utf8").catch(() => undefined);
		if (existing !== undefined) {
			try {
				const text = existing.trim();
				return {
					ok: true,
					privateKeyText: text,
					publicKeyText: await publicKeyTextOf(text),
					reused: true,
				};
			} catch (e) {
				return {
					ok: false,
					message: `${file} is not a watchdog key (${(e as Error).message}); move it away or use --force`,
				};
			}
		}
	}
	const pair = await generateKeyPair();
	const w = await writePrivateKeyFile(file, pair.privateKeyText, force);
	if (!w.ok) return { ok: false, message: w.message };
	return {
		ok: true,
		privateKeyText: pair.privateKeyText,
		publicKeyText: pair.publicKeyText,
		reused: false,
	};
}

async function existingAdminToken(file: string): Promise<string | undefined> {
	try {
		const v = JSON.parse(await readFile(file, "utf8")) as { ADMIN_TOKEN?: unknown };
		return typeof v.ADMIN_TOKEN === "string" && v.ADMIN_TOKEN.length >= 16
			? v.ADMIN_TOKEN
			: undefined;
	} catch {
		return undefined;
	}
}

type Existing = { ok: true; pairs: Record<string, unknown>[] } | { ok: false; message: string };

/**
 * The pairs of an existing worker-config.json, so running init for one pair keeps the others. A file
 * that is not a config is an error, never silently replaced: it may hold hand edits.
 */
export async function existingPairs(file: string): Promise<Existing> {
	let text: string;
	try {
		text = await readFile(file, "utf8");
	} catch {
		return { ok: true, pairs: [] };
	}
	try {
		const doc = JSON.parse(text) as { pairs?: unknown };
		if (!Array.isArray(doc.pairs)) throw new Error('no "pairs" array');
		return {
			ok: true,
			pairs: doc.pairs.filter(
				(p): p is Record<string, unknown> => p !== null && typeof p === "object" && "name" in p,
			),
		};
	} catch (e) {
		return {
			ok: false,
			message: `${file} is not a Worker config (${(e as Error).message}); fix it or move it away, then run init again`,
		};
	}
}

/**
 * Writes worker-secrets.json (mode 0600): the watchdog's private key and the admin token, which is kept
 * from an earlier run (so the operator's token keeps working) or made from 32 random bytes (hex).
 */
export async function writeSecrets(file: string, privateKeyText: string): Promise<KeyFileResult> {
	const adminToken = (await existingAdminToken(file)) ?? randomBytes(32).toString("hex");
	return writePrivateKeyFile(
		file,
		JSON.stringify({ ADMIN_TOKEN: adminToken, WATCHDOG_PRIVATE_KEY: privateKeyText }, null, 2),
		true,
	);
}

/** Writes one agent's folder (config, unit, polkit rule when needed); returns the files written. */
export async function writeAgentFiles(a: AgentPlan): Promise<string[]> {
	await mkdir(a.folder, { recursive: true });
	const contents: Record<string, () => Promise<string>> = {
		"config.json": async () => `${JSON.stringify(a.config, null, 2)}\n`,
		"failover-agent.service": () => agentUnitFile(a.gatewayUser, String(a.config.workspace)),
		"50-failover-agent.rules": () => polkitRuleFile(a.gatewayUser, a.config.gatewayUnit.name),
	};
	// agent.key is written (0600) when the deployment is built (agent-keys.ts): listed, not rewritten.
	const written: string[] = [join(a.folder, "agent.key")];
	for (const name of agentFiles(a)) {
		if (name === "agent.key") continue;
		const file = join(a.folder, name);
		const make = contents[name];
		if (make === undefined) throw new Error(`no writer for agent file ${name}`);
		await writeFile(file, await make());
		written.push(file);
	}
	return written;
}
