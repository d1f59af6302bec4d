// Each agent's own key pair: the private half for its VPS (0600), the public half for the Worker's pair config.
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { watchdogKey } from "./files";

/** Where the agent's key goes on its VPS (the agent config's agentKeyFile; the unit may read it). */
export const AGENT_KEY_ON_VPS = "/etc/failover-agent/agent.key";

/**
 * The agent's identity fields: `pair` and `agentKeyFile` for its config, `agentPublicKey` for its side
 * of the Worker's pair config. The key pair is made once in `<dir>/<pair>/<role>/agent.key` (0600,
 * never printed) and reused when init runs again, so a rerun does not re-key a deployed agent.
 * Errors: a file there that is not a key, or cannot be written (the message says which).
 */
export async function agentKeyFields(
	dir: string,
	pair: string,
	role: "primary" | "standby",
): Promise<
	| { ok: true; agent: Record<string, unknown>; worker: Record<string, unknown> }
	| { ok: false; message: string }
> {
	const folder = join(dir, pair, role);
	await mkdir(folder, { recursive: true });
	const key = await watchdogKey(join(folder, "agent.key"), false);
	if (!key.ok) return { ok: false, message: key.message.replace("watchdog key", "agent key") };
	return {
		ok: true,
		agent: { pair, agentKeyFile: AGENT_KEY_ON_VPS },
		worker: { agentPublicKey: key.publicKeyText },
	};
}
