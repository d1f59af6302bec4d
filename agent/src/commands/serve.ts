// `failover-agent serve --config FILE`: runs the agent until SIGTERM or SIGINT.
import { parseArgs } from "node:util";
import { PROTOCOL_VERSION } from "../../../protocol";
import { AgentKeyError } from "../agent-key";
import { configWarnings, loadConfig } from "../config";
import { createLogger } from "../log";
import type { RunStep } from "../operations";
import { listenAgent } from "../server";
import { StateFileError } from "../state-store";
import { type CliIo, EXIT_FAILED, EXIT_OK, usageError } from "./io";

export const SERVE_HELP = `Usage: failover-agent serve --config FILE

Runs the agent: listens for signed commands from the watchdog, runs the
configured steps, and probes the primary (on the standby). Logs JSON lines
to stdout. Stops cleanly on SIGTERM or SIGINT; an action cut off by a stop
or a crash is reported as interrupted after the next start.

Options:
  --config FILE   the agent's JSON config (see failover-agent check-config)
  --help          show this help`;

export async function serveCommand(args: string[], io: CliIo): Promise<number> {
	let config: string | undefined;
	try {
		const parsed = parseArgs({
			args,
			options: { config: { type: "string", short: "c" }, help: { type: "boolean", short: "h" } },
			strict: true,
			allowPositionals: false,
		});
		if (parsed.values.help) {
			io.out(`${SERVE_HELP}\n`);
			return EXIT_OK;
		}
		config = parsed.values.config;
	} catch (error) {
		return usageError(io, (error as Error).message, SERVE_HELP);
	}
	if (config === undefined) return usageError(io, "serve needs --config FILE", SERVE_HELP);

	const loaded = await loadConfig(config);
	if (!loaded.ok) {
		io.err(`${config}: invalid config:\n${loaded.errors.map((l) => `  - ${l}`).join("\n")}\n`);
		return EXIT_FAILED;
	}
	const log = createLogger({ level: loaded.config.logLevel });
	for (const warning of configWarnings(loaded.config)) log.warn(warning);

	// The step runners (git, systemctl, exec) load with the first command, not at start: an agent
	// may idle for months before it runs one.
	const runStep: RunStep = async (step, ctx) =>
		(await import("../steps/run-step")).runStep(step, ctx);
	let listened: Awaited<ReturnType<typeof listenAgent>>;
	try {
		listened = await listenAgent(loaded.config, { runStep, log });
	} catch (error) {
		if (error instanceof AgentKeyError) {
			log.error("cannot start: agent key problem", { error: error.message });
			io.err(`failover-agent: ${error.message}\n`);
			return EXIT_FAILED;
		}
		if (error instanceof StateFileError) {
			log.error("cannot start: state file problem", { error: error.message });
			io.err(`failover-agent: ${error.message}\n`);
			return EXIT_FAILED;
		}
		const err = error as NodeJS.ErrnoException;
		if (err.code === "EACCES" || err.code === "EROFS" || err.code === "ENOENT") {
			const message = `cannot use stateDir ${loaded.config.stateDir}: ${err.message}`;
			log.error("cannot start", { error: message });
			io.err(`failover-agent: ${message}\n`);
			return EXIT_FAILED;
		}
		throw error;
	}
	if (!listened.ok) {
		log.error("cannot start", { error: listened.message });
		io.err(`failover-agent: ${listened.message}\n`);
		return EXIT_FAILED;
	}
	const { running } = listened;
	log.info("agent listening", {
		host: running.host,
		port: running.port,
		role: running.agent.role,
		pair: loaded.config.pair,
		agentKey: running.agent.key.publicKeyText,
		term: running.agent.state.term,
		protocol: PROTOCOL_VERSION,
		pid: process.pid,
	});

	const signal = await new Promise<NodeJS.Signals>((resolve) => {
		process.once("SIGTERM", () => resolve("SIGTERM"));
		process.once("SIGINT", () => resolve("SIGINT"));
	});
	log.info("stopping", { signal });
	await running.close();
	log.info("stopped");
	return EXIT_OK;
}
