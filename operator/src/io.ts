// The operator CLI's streams and exit codes: the agent CLI's (0 ok, 1 failed, 2 usage), with its own name.
import { type CliIo, EXIT_FAILED, EXIT_OK, EXIT_USAGE } from "../../agent/src/commands/io";

export { type CliIo, EXIT_FAILED, EXIT_OK, EXIT_USAGE };

/** Prints a usage error with the command's help and returns the usage exit code. */
export function usageError(io: CliIo, message: string, help: string): number {
	io.err(`failover-gateway: ${message}\n\n${help}\n`);
	return EXIT_USAGE;
}
