// The agent's systemd unit for one VPS: the tracked template with User=, Group= and ReadWritePaths= filled in.
import { readFile } from "node:fs/promises";

const TEMPLATE = new URL("../../../agent/systemd/failover-agent.service", import.meta.url);

/**
 * Returns agent/systemd/failover-agent.service with the agent's user, group and workspace set. Throws
 * when the template no longer has the lines it edits (a bug to fix here, not an answer to give the user).
 */
export async function agentUnitFile(user: string, workspace: string): Promise<string> {
	let text = await readFile(TEMPLATE, "utf8");
	const edits: [RegExp, string][] = [
		[/^User=.*$/m, `User=${user}`],
		[/^Group=.*$/m, `Group=${user}`],
		[/^ReadWritePaths=.*$/m, `ReadWritePaths=${workspace}`],
	];
	for (const [pattern, line] of edits) {
		if (!pattern.test(text)) throw new Error(`unit template lacks ${pattern}`);
		text = text.replace(pattern, line);
	}
	return text;
}

const POLKIT = new URL("../../../agent/systemd/50-failover-agent.rules", import.meta.url);

/** agent/systemd/50-failover-agent.rules with the agent's user and the gateway's system unit filled in. */
export async function polkitRuleFile(user: string, unit: string): Promise<string> {
	let text = await readFile(POLKIT, "utf8");
	const edits: [RegExp, string][] = [
		[/var agentUser = "[^"]*";/, `var agentUser = ${JSON.stringify(user)};`],
		[/var gatewayUnit = "[^"]*";/, `var gatewayUnit = ${JSON.stringify(unit)};`],
	];
	for (const [pattern, line] of edits) {
		if (!pattern.test(text)) throw new Error(`polkit template lacks ${pattern}`);
		text = text.replace(pattern, line);
	}
	return text;
}
