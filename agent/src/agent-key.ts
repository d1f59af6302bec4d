// Loads the agent's own Ed25519 key (agentKeyFile): refuses a file others can read, derives its identity.

import { type Audience, agentFingerprint, importSigningKey, type Role } from "../../protocol";
import { readTextFile } from "./atomic-file";
import { stat } from "./fs-async";

/** The agent's identity: signs its answers, and names it in every request's audience. */
export interface AgentKey {
	privateKey: CryptoKey;
	/** "ed25519:..." for the Worker's `primary.agentPublicKey` / `standby.agentPublicKey`. */
	publicKeyText: string;
	/** base64url SHA-256 of the raw public key (43 characters): the `AGENT` part of the audience. */
	fingerprint: string;
}

/** The key file is missing, unreadable, too open, or not an Ed25519 private key. */
export class AgentKeyError extends Error {
	override name = "AgentKeyError";
}

/**
 * Reads `file` (written by `failover-agent keygen --agent`). Mode bits for group or others are refused
 * (0600 expected): whoever reads the key can sign answers as this agent, including the term it reports.
 */
export async function loadAgentKey(file: string): Promise<AgentKey> {
	let mode: number;
	try {
		mode = (await stat(file)).mode;
	} catch (error) {
		const code = (error as NodeJS.ErrnoException).code;
		throw new AgentKeyError(
			code === "ENOENT"
				? `agentKeyFile ${file}: no such file; create it with: failover-agent keygen --agent --out ${file}`
				: `agentKeyFile ${file}: ${(error as Error).message}`,
		);
	}
	if ((mode & 0o077) !== 0) {
		throw new AgentKeyError(
			`agentKeyFile ${file} is readable by others (mode ${(mode & 0o777).toString(8).padStart(4, "0")}); run: chmod 600 ${file}`,
		);
	}
	const read = await readTextFile(file);
	if (!read.ok)
		throw new AgentKeyError(
			`agentKeyFile ${file}: cannot read: ${read.missing ? "no such file" : read.message}`,
		);
	try {
		const imported = await importSigningKey(read.text);
		return { ...imported, fingerprint: await agentFingerprint(imported.publicKeyText) };
	} catch (error) {
		throw new AgentKeyError(`agentKeyFile ${file}: ${(error as Error).message}`);
	}
}

/** The audience every request to this agent must be signed for. */
export function ownAudience(pair: string, role: Role, key: AgentKey): Audience {
	return { pair, side: role, agent: key.fingerprint };
}
