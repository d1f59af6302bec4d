// `failover-gateway` command line (the operator's machine): dispatches init and doctor.
import { doctorCommand } from "./doctor/doctor-command";
import { initCommand } from "./init/init-command";
import type { Prompter } from "./init/prompt";
import { type CliIo, EXIT_OK, EXIT_USAGE, usageError } from "./io";

export const MAIN_HELP = `failover-gateway: set up and check a failover-gateway deployment.

Usage:
  failover-gateway init [options]         write keys and configs, print the remaining steps
  failover-gateway doctor --url URL       ask the deployed Worker whether a failover would work
                                          (admin token from ADMIN_TOKEN)

Run "failover-gateway COMMAND --help" for a command's options.
Documentation: docs/deployment.md`;

export interface OperatorEnv {
	/** For init's questions; undefined runs unattended. */
	prompter?: Prompter;
	env: Record<string, string | undefined>;
	fetch: typeof fetch;
}

export async function runOperatorCli(
	argv: readonly string[],
	io: CliIo,
	env: OperatorEnv,
): Promise<number> {
	const [command, ...rest] = argv;
	if (command === undefined || command === "--help" || command === "-h" || command === "help") {
		io.out(`${MAIN_HELP}\n`);
		return command === undefined ? EXIT_USAGE : EXIT_OK;
	}
	if (command === "init")
		return initCommand(rest, io, env.prompter ? { prompter: env.prompter } : {});
	if (command === "doctor") return doctorCommand(rest, io, env);
	return usageError(io, `unknown command ${JSON.stringify(command)}`, MAIN_HELP);
}
