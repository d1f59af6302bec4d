// `failover-agent` command line: dispatches keygen, serve, check-config, doctor, call, term and maintenance; --version.
import { callCommand } from "./commands/call";
import { checkConfigCommand } from "./commands/check-config";
import { doctorCommand } from "./commands/doctor";
import { type CliIo, EXIT_OK, EXIT_USAGE, usageError } from "./commands/io";
import { keygenCommand } from "./commands/keygen";
import { maintenanceCommand } from "./commands/maintenance";
import { serveCommand } from "./commands/serve";
import { termCommand } from "./commands/term";
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

const COMMANDS: Record<string, (args: string[], io: CliIo) => Promise<number>> = {
	keygen: keygenCommand,
	serve: serveCommand,
	"check-config": checkConfigCommand,
	doctor: (args, io) => doctorCommand(args, io),
	call: callCommand,
	term: termCommand,
	maintenance: (args, io) => maintenanceCommand(args, io),
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
