// `failover-agent check-config FILE`: validates an agent config and prints a summary, or every problem.
import { access, constants } from "node:fs/promises";
import { parseArgs } from "node:util";
import { importPublicKey, isReadinessPath, keyId, READINESS_PATHS } from "../../../protocol";
import { AgentKeyError, loadAgentKey } from "../agent-key";
import { type AgentConfig, configWarnings, loadConfig } from "../config";
import { replicationPreflight } from "../replication/preflight";
import { type CliIo, EXIT_FAILED, EXIT_OK, usageError } from "./io";

export const CHECK_CONFIG_HELP = `Usage: failover-agent check-config FILE

Validates an agent config file (JSON). Prints a summary and exits 0, or names
every problem (field and what was expected) and exits 1. With replication
enabled it also checks, as the user running it, that the workspace is a git
repository on a branch, the remote answers, and a push would be accepted
(git push --dry-run); problems are printed as warnings.

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
		[
			"local check",
			`every ${config.localProbe.intervalMs} ms (timeout ${config.localProbe.timeoutMs} ms, start window ${config.localProbe.startWindowMs / 1000} s)`,
		],
		["state dir", config.stateDir],
		["promote", steps(config, "promote")],
		["demote", steps(config, "demote")],
		["sync", steps(config, "sync")],
		[
			"replication",
			config.replication.enabled
				? `every ${config.replication.replicateIntervalSeconds} s to ${config.replication.remote}`
				: "off",
		],
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

/**
 * What the judge needs from this agent's probes (issue 9 §1, §4): a readiness path on both probe
 * URLs (the Worker and the standby classify answers by the same spec, protocol/probe-spec.ts), and a
 * primary URL on a standby, without which its witness can never vote.
 */
export function probeWarnings(config: AgentConfig): string[] {
	const warnings: string[] = [];
	const paths = READINESS_PATHS.join(" or ");
	for (const [field, url] of [
		["primaryReadyUrl", config.primaryReadyUrl],
		["localReadyUrl", config.localReadyUrl],
	] as const) {
		if (url !== undefined && !isReadinessPath(url))
			warnings.push(
				`${field} ${url} is not a readiness path (${paths}): a page or /healthz can answer 200 while the gateway cannot serve; the probe expects HTTP 200 with "ready":true`,
			);
	}
	if (config.role === "standby" && config.primaryReadyUrl === undefined)
		warnings.push(
			'no primaryReadyUrl: the standby witness can never vote, so the watchdog reports it as silent; with no other witness (quorum "all") a primary that stops answering could never be failed over',
		);
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
	const warnings = [
		...configWarnings(config),
		...probeWarnings(config),
		...(await pathWarnings(config)),
		// Only when enabled: the check reaches the remote, which a config-only check should not do unasked.
		...(config.replication.enabled ? await replicationPreflight(config) : []),
	];
	for (const warning of warnings) io.out(`warning: ${warning}\n`);
	return EXIT_OK;
}
