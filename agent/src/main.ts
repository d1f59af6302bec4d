// Process entry of failover-agent (the bundle's entry point): runs the CLI with real stdout/stderr.
// First: on a too-old Node this exits with a clear message before any other module runs.
import "./require-node";
import { runCli } from "./cli";

const io = {
	out: (text: string) => void process.stdout.write(text),
	err: (text: string) => void process.stderr.write(text),
};

try {
	const code = await runCli(process.argv.slice(2), io);
	// Flush stdio, then exit: lingering handles (probe timers, keep-alive sockets) must not hold the process.
	process.stdout.write("", () => process.exit(code));
} catch (error) {
	process.stderr.write(
		`failover-agent: internal error: ${(error as Error).stack ?? String(error)}\n`,
	);
	process.exit(70);
}
