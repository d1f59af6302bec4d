// `failover-agent` command line: dispatches keygen, serve, check-config, doctor, call, term and maintenance; --version.
import { type CliIo, EXIT_OK, EXIT_USAGE, usageError } from "./commands/io";
import { versionLine } from "./version";

export const MAIN_HELP = `failover-agent: the agent of failover-gateway. It runs on each VPS, carries
out commands signed by the watchdog Worker, and reports its own view of the
primary.

Usage:
  failover-agent keygen [--out FILE] [--force]    create the watchdog signing key
  failover-agent keygen --agent [--out FILE]      create this agent's own key
  failover-agent serve --config FILE              run the agent
  failover-agent check-config FILE                validate a config, print a summary
  failover-agent doctor --config FILE             check, as the unit's user, all it needs
  failover-agent call URL ACTION --key FILE ...   send one signed request
                                                  (ACTION: status|promote|demote|sync)
  failover-agent term --config FILE [--set N]     show the highest term; lower it
                                                  after a term reset on the Worker
  failover-agent maintenance --for 10m | --end     pause the pair while you work on this VPS
  failover-agent --version                        print the agent and protocol versions

Run "failover-agent COMMAND --help" for a command's options.
Documentation: docs/agent.md`;

/**
 * Each command's module is loaded when it runs (in the bundle too: esbuild evaluates a dynamically
 * imported module on first use), so the long-running `serve` never holds the others' code and
 * schemas in memory (docs/agent.md, "Measured").
 */
const COMMANDS: Record<string, (args: string[], io: CliIo) => Promise<number>> = {
	keygen: async (args, io) => (await import("./commands/keygen")).keygenCommand(args, io),
	serve: async (args, io) => (await import("./commands/serve")).serveCommand(args, io),
	"check-config": async (args, io) =>
		(await import("./commands/check-config")).checkConfigCommand(args, io),
	doctor: async (args, io) => (await import("./commands/doctor")).doctorCommand(args, io),
	call: async (args, io) => (await import("./commands/call")).callCommand(args, io),
	term: async (args, io) => (await import("./commands/term")).termCommand(args, io),
	maintenance: async (args, io) =>
		(await import("./commands/maintenance")).maintenanceCommand(args, io),
};

export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
	const [command, ...rest] = argv;
	if (command === undefined || command === "--help" || command === "-h" || command === "help") {
		io.out(`${MAIN_HELP}\n`);
		// No command at all is a usage error (after the help), so a script notices.
		return command === undefined ? EXIT_USAGE : EXIT_OK;
	}
	if (command === "--version" || command === "-V" || command === "version") {
		io.out(`${versionLine()}\n`);
		return EXIT_OK;
	}
	const run = COMMANDS[command];
	if (run === undefined)
		return usageError(io, `unknown command ${JSON.stringify(command)}`, MAIN_HELP);
	return run(rest, io);
}
