// Process entry of `failover-gateway`: real streams, a terminal prompter when stdin is a terminal, the exit code.
import { runOperatorCli } from "./cli";
import { terminalPrompter } from "./init/prompt";

const prompter = process.stdin.isTTY ? terminalPrompter() : undefined;
try {
	process.exitCode = await runOperatorCli(
		process.argv.slice(2),
		{ out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) },
		{ ...(prompter ? { prompter } : {}), env: process.env, fetch: globalThis.fetch },
	);
} finally {
	prompter?.close();
}
