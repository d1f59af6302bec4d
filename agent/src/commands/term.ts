// `failover-agent term --config FILE [--set N]`: shows the agent's highest term, and lowers it after an operator's term reset.
import { parseArgs } from "node:util";
import { MAX_TERM } from "../../../protocol";
import { loadConfig } from "../config";
import { StateFileError, StateStore } from "../state-store";
import { type CliIo, EXIT_FAILED, EXIT_OK, usageError } from "./io";

export const TERM_HELP = `Usage: failover-agent term --config FILE [--set N]

Prints the highest term this agent has accepted (it refuses any command with a
lower one) and its last operation.

--set N lowers it to N, after the operator reset the pair's term on the Worker
(the Worker's page shows the new term): the agent then accepts commands from
term N on again. Only for that case. It needs a shell on this VPS (no signed
command can lower a term), the agent stopped (systemctl stop failover-agent),
and N at most the current term and at most the Worker's new term.

Options:
  --config FILE   the agent's JSON config (its stateDir holds the term)
  --set N         the new highest term, 0..${MAX_TERM}
  --help          show this help`;

// Loopback answers at once; a quarter second is plenty to tell "something listens" from "nothing".
const RUNNING_PROBE_MS = 250;

async function agentAnswers(host: string, port: number): Promise<boolean> {
	const target = ["0.0.0.0", "::", ""].includes(host) ? "127.0.0.1" : host;
	const hostPart = target.includes(":") ? `[${target}]` : target;
	try {
		const res = await fetch(`http://${hostPart}:${port}/healthz`, {
			signal: AbortSignal.timeout(RUNNING_PROBE_MS),
			redirect: "manual",
		});
		await res.body?.cancel();
		return true;
	} catch {
		return false;
	}
}

export async function termCommand(args: string[], io: CliIo): Promise<number> {
	let values: { config?: string; set?: string; help?: boolean };
	try {
		({ values } = parseArgs({
			args,
			options: {
				config: { type: "string", short: "c" },
				set: { type: "string" },
				help: { type: "boolean", short: "h" },
			},
			strict: true,
			allowPositionals: false,
		}));
	} catch (error) {
		return usageError(io, (error as Error).message, TERM_HELP);
	}
	if (values.help) {
		io.out(`${TERM_HELP}\n`);
		return EXIT_OK;
	}
	if (values.config === undefined) return usageError(io, "term needs --config FILE", TERM_HELP);
	let target: number | undefined;
	if (values.set !== undefined) {
		if (!/^[0-9]{1,10}$/.test(values.set) || Number(values.set) > MAX_TERM) {
			return usageError(
				io,
				`--set expects an integer from 0 to ${MAX_TERM}, got ${JSON.stringify(values.set)}`,
				TERM_HELP,
			);
		}
		target = Number(values.set);
	}
	const loaded = await loadConfig(values.config);
	if (!loaded.ok) {
		io.err(
			`${values.config}: invalid config:\n${loaded.errors.map((l) => `  - ${l}`).join("\n")}\n`,
		);
		return EXIT_FAILED;
	}
	const config = loaded.config;
	// The running agent owns the state file: writing under it would race its next save.
	if (target !== undefined && (await agentAnswers(config.listen.host, config.listen.port))) {
		io.err(
			`failover-agent: an agent answers on ${config.listen.host}:${config.listen.port}; stop it first (systemctl stop failover-agent), then run this again\n`,
		);
		return EXIT_FAILED;
	}
	let store: StateStore;
	try {
		({ store } = await StateStore.open(config.stateDir, { role: config.role, now: Date.now }));
	} catch (error) {
		if (!(error instanceof StateFileError)) throw error;
		io.err(`failover-agent: ${error.message}\n`);
		return EXIT_FAILED;
	}
	const current = store.term;
	const last = store.state.operations.at(-1);
	const lastText =
		last === undefined ? "none" : `${last.action} ${last.opId} (term ${last.term}, ${last.status})`;
	if (target === undefined) {
		io.out(`term ${current}\nrole ${store.role}\nlast operation ${lastText}\n`);
		return EXIT_OK;
	}
	if (target > current) {
		io.err(
			`failover-agent: --set ${target} is above the current term ${current}: terms only rise through the watchdog's signed commands; nothing changed\n`,
		);
		return EXIT_FAILED;
	}
	store.state.term = target;
	await store.save();
	io.out(
		`term lowered from ${current} to ${target} in ${store.file}; start the agent again (systemctl start failover-agent)\n`,
	);
	return EXIT_OK;
}
