// What a CLI command may touch: its output streams. Exit codes: 0 ok, 1 failed, 2 usage error.
export interface CliIo {
	out(text: string): void;
	err(text: string): void;
}

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

/** Prints a usage error with the command's help and returns the usage exit code. */
export function usageError(io: CliIo, message: string, help: string): number {
	io.err(`failover-agent: ${message}\n\n${help}\n`);
	return EXIT_USAGE;
}
