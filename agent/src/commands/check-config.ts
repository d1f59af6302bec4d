// `failover-agent check-config FILE`: validates an agent config and prints a summary, or every problem.
import { access, constants } from "node:fs/promises";
import { parseArgs } from "node:util";
import { importPublicKey, keyId } from "../../../protocol";
import { AgentKeyError, loadAgentKey } from "../agent-key";
import { type AgentConfig, configWarnings, loadConfig } from "../config";
import { type CliIo, EXIT_FAILED, EXIT_OK, usageError } from "./io";

export const CHECK_CONFIG_HELP = `Usage: failover-agent check-config FILE

Validates an agent config file (JSON). Prints a summary and exits 0, or names
every problem (field and what was expected) and exits 1.

See docs/agent.md for every field.`;

function steps(config: AgentConfig, action: "promote" | "demote" | "sync"): string {
	const list = config.actions[action];
	if (list.length === 0) return "(no steps)";
	return list
		.map((s) => (s.type === "exec" ? `exec ${JSON.stringify(s.argv)}` : s.type))
		.join(" -> ");
}

export async function summarize(config: AgentConfig): Promise<string> {
	const ids: string[] = [];
	for (const text of config.watchdogPublicKeys)
		ids.push((await keyId(await importPublicKey(text))) ?? "?");
	const probe =
		config.primaryReadyUrl === undefined
			? "(none)"
			: `${config.primaryReadyUrl} every ${config.peerProbe.intervalMs} ms (timeout ${config.peerProbe.timeoutMs} ms)`;
	let agentKey: string;
	try {
		const key = await loadAgentKey(config.agentKeyFile);
		agentKey = `${key.publicKeyText} (fingerprint ${key.fingerprint})`;
	} catch (error) {
		if (!(error instanceof AgentKeyError)) throw error;
		agentKey = `PROBLEM: ${error.message}`;
	}
	const rows: [string, string][] = [
		["listen", `${config.listen.host}:${config.listen.port}`],
		["pair", config.pair],
		["role", config.role],
		["agent key", agentKey],
		["watchdog keys", `${ids.length} (key id ${ids.join(", ")})`],
		["primary probe", probe],
		["workspace", config.workspace],
		["gateway unit", `${config.gatewayUnit.name} (${config.gatewayUnit.scope})`],
		["local ready", config.localReadyUrl],
		["state dir", config.stateDir],
		["promote", steps(config, "promote")],
		["demote", steps(config, "demote")],
		["sync", steps(config, "sync")],
	];
	return rows.map(([k, v]) => `  ${k.padEnd(14)}${v}`).join("\n");
}

async function pathWarnings(config: AgentConfig): Promise<string[]> {
	const warnings: string[] = [];
	try {
		await access(config.workspace, constants.R_OK);
	} catch {
		warnings.push(`workspace ${config.workspace} does not exist or is not readable here`);
	}
	return warnings;
}

export async function checkConfigCommand(args: string[], io: CliIo): Promise<number> {
	let positionals: string[];
	let help = false;
	try {
		const parsed = parseArgs({
			args,
			options: { help: { type: "boolean", short: "h" } },
			strict: true,
			allowPositionals: true,
		});
		positionals = parsed.positionals;
		help = parsed.values.help ?? false;
	} catch (error) {
		return usageError(io, (error as Error).message, CHECK_CONFIG_HELP);
	}
	if (help) {
		io.out(`${CHECK_CONFIG_HELP}\n`);
		return EXIT_OK;
	}
	const [file, ...extra] = positionals;
	if (file === undefined)
		return usageError(io, "check-config needs the config FILE", CHECK_CONFIG_HELP);
	if (extra.length > 0)
		return usageError(io, `unexpected argument ${JSON.stringify(extra[0])}`, CHECK_CONFIG_HELP);

	const loaded = await loadConfig(file);
	if (!loaded.ok) {
		io.err(
			`${file}: invalid config (${loaded.errors.length} problem${loaded.errors.length > 1 ? "s" : ""}):\n`,
		);
		for (const line of loaded.errors) io.err(`  - ${line}\n`);
		return EXIT_FAILED;
	}
	const config = loaded.config;
	io.out(`${file}: config OK\n${await summarize(config)}\n`);
	const warnings = [...configWarnings(config), ...(await pathWarnings(config))];
	for (const warning of warnings) io.out(`warning: ${warning}\n`);
	return EXIT_OK;
}
