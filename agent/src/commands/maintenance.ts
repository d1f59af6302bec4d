// `failover-agent maintenance --for 10m | --end`: sets or ends this VPS's maintenance window in the agent's stateDir.
import { parseArgs } from "node:util";
import { loadConfig } from "../config";
import {
	clearMaintenance,
	maintenancePath,
	parseDuration,
	readMaintenance,
	writeMaintenance,
} from "../maintenance";
import { type CliIo, EXIT_FAILED, EXIT_OK, usageError } from "./io";

export const DEFAULT_CONFIG_FILE = "/etc/failover-agent/config.json";

export const MAINTENANCE_HELP = `Usage: failover-agent maintenance --for DURATION [--config FILE]
       failover-agent maintenance --end [--config FILE]
       failover-agent maintenance [--config FILE]

Sets a maintenance window on this VPS (either side of the pair). The running
agent reports it in its status; the watchdog pauses the pair with an event
on its next poll and resumes it by itself when the window ends. Use it
before restarting or updating a gateway by hand.

Options:
  --for DURATION    how long, e.g. 90s, 10m, 1h30m (s, m or h; at most 24h);
                    setting it again replaces the window
  --end             end the window now (this agent stops reporting it; a
                    pair already paused resumes at the window's end, or
                    when you resume it from the page or the API)
  --config FILE     the agent's config, for its stateDir
                    (default ${DEFAULT_CONFIG_FILE})
  --state-dir DIR   use this stateDir instead of the config's
  --help            show this help

Without --for or --end, prints the current window.
Run it as the agent's user or as root (the file is readable by the agent).`;

export async function maintenanceCommand(
	args: string[],
	io: CliIo,
	now: () => number = Date.now,
): Promise<number> {
	let values: {
		for?: string;
		end?: boolean;
		config?: string;
		"state-dir"?: string;
		help?: boolean;
	};
	try {
		values = parseArgs({
			args,
			options: {
				for: { type: "string" },
				end: { type: "boolean" },
				config: { type: "string", short: "c" },
				"state-dir": { type: "string" },
				help: { type: "boolean", short: "h" },
			},
			strict: true,
			allowPositionals: false,
		}).values;
	} catch (error) {
		return usageError(io, (error as Error).message, MAINTENANCE_HELP);
	}
	if (values.help) {
		io.out(`${MAINTENANCE_HELP}\n`);
		return EXIT_OK;
	}
	if (values.for !== undefined && values.end) {
		return usageError(io, "use either --for DURATION or --end, not both", MAINTENANCE_HELP);
	}
	let ms: number | undefined;
	if (values.for !== undefined) {
		const parsed = parseDuration(values.for);
		if (!parsed.ok) return usageError(io, parsed.message, MAINTENANCE_HELP);
		ms = parsed.ms;
	}

	let stateDir = values["state-dir"];
	if (stateDir === undefined) {
		const file = values.config ?? DEFAULT_CONFIG_FILE;
		const loaded = await loadConfig(file);
		if (!loaded.ok) {
			io.err(
				`failover-agent: cannot read the agent's config for its stateDir:\n${loaded.errors.map((l) => `  - ${l}`).join("\n")}\n(pass --config FILE or --state-dir DIR)\n`,
			);
			return EXIT_FAILED;
		}
		stateDir = loaded.config.stateDir;
	}
	const file = maintenancePath(stateDir);

	try {
		if (values.end) {
			await clearMaintenance(stateDir);
			io.out(
				`maintenance window ended (${file} removed): this agent no longer reports it.\nA watchdog that already paused the pair keeps the window it saw until its end; resume the pair from the page or the API (POST /api/v1/pairs/NAME/resume) to end it sooner.\n`,
			);
			return EXIT_OK;
		}
		if (ms !== undefined) {
			const at = now();
			const until = at + ms;
			await writeMaintenance(stateDir, { format: 1, until, setAt: at });
			io.out(
				`maintenance until ${new Date(until).toISOString()} (${values.for}), written to ${file}\nThe watchdog pauses the pair on its next poll of this agent and resumes it by itself when the time is up.\nEnd it early with: failover-agent maintenance --end\n`,
			);
			return EXIT_OK;
		}
		const read = await readMaintenance(stateDir);
		if (!read.ok) {
			io.err(`failover-agent: ${read.message}\n`);
			return EXIT_FAILED;
		}
		const w = read.window;
		io.out(
			w === null || w.until <= now()
				? "no maintenance window\n"
				: `maintenance until ${new Date(w.until).toISOString()} (set ${new Date(w.setAt).toISOString()})\n`,
		);
		return EXIT_OK;
	} catch (error) {
		const err = error as NodeJS.ErrnoException;
		io.err(
			`failover-agent: cannot ${values.end ? "remove" : "write"} ${file}: ${err.message}${err.code === "EACCES" ? " (run it as the agent's user or with sudo)" : ""}\n`,
		);
		return EXIT_FAILED;
	}
}
