// `failover-agent doctor --config FILE`: checks, as the unit's user, everything the agent will need; prints each fix.
import { access } from "node:fs/promises";
import { homedir, userInfo } from "node:os";
import { parseArgs } from "node:util";
import { loadConfig } from "../config";
import { type CheckResult, type DoctorDeps, fail } from "../doctor/check";
import { checkClock } from "../doctor/clock-check";
import { checkGit } from "../doctor/git-check";
import { checkPeer } from "../doctor/peer-check";
import { checkUnit } from "../doctor/unit-check";
import { runCommand } from "../steps/run-command";
import { type CliIo, EXIT_FAILED, EXIT_OK, usageError } from "./io";

export const DOCTOR_HELP = `Usage: failover-agent doctor --config FILE [--time-url URL]

Checks, as the user the agent's unit runs as (run it with sudo -u <user>),
everything the agent will need: the config parses; the workspace is a git
checkout whose remote this user can fetch from and push to (dry run) without a
prompt; the gateway unit exists and this user may start and stop it (checked
without starting or stopping anything); on a standby, that the primary's
readiness URL answers over the tailnet; the clock is synchronized. Prints the
fix for each failed check and exits 1 when any check failed.

Options:
  --config FILE    the agent config (e.g. /etc/failover-agent/config.json)
  --time-url URL   compare the clock with this URL's Date header (e.g. the Worker)
                   instead of asking timedatectl`;

/** The real machine: commands, network, this process's user. */
export function defaultDoctorDeps(): DoctorDeps {
	const info = userInfo();
	return {
		run: runCommand,
		env: {},
		fetch: globalThis.fetch,
		user: { name: info.username, uid: info.uid, home: info.homedir || homedir() },
		now: Date.now,
		exists: (path) =>
			access(path).then(
				() => true,
				() => false,
			),
	};
}

/** Runs every check; a config that does not parse stops there (the others need it). */
export async function runDoctor(
	file: string,
	deps: DoctorDeps,
	timeUrl?: string,
): Promise<CheckResult[]> {
	const loaded = await loadConfig(file);
	if (!loaded.ok) {
		return [
			fail(
				"config",
				`${file} does not parse:\n    ${loaded.errors.join("\n    ")}`,
				`sudoedit ${file}   # then: failover-agent check-config ${file}`,
			),
		];
	}
	const config = loaded.config;
	// The unit never runs as root, so root's answers (its git key, its systemd manager) prove nothing.
	if (deps.user.uid === 0) {
		return [
			{ name: "config", ok: true, detail: `${file} parses (role ${config.role})` },
			fail(
				"user",
				"doctor runs as root, but the agent's unit runs as the gateway's user: these checks must see that user's git credentials and systemd manager",
				`sudo -H -u "$(stat -c %U ${config.workspace})" node /opt/failover-agent/agent.mjs doctor --config ${file}`,
			),
		];
	}
	return [
		{ name: "config", ok: true, detail: `${file} parses (role ${config.role})` },
		...(await checkGit(config, deps)),
		...(await checkUnit(config, deps)),
		...(await checkPeer(config, deps.fetch)),
		...(await checkClock(deps, timeUrl)),
	];
}

export function formatChecks(results: readonly CheckResult[]): string {
	return results
		.map((r) => {
			const head = `${r.ok ? "ok  " : "FAIL"} ${r.name}: ${r.detail}`;
			return r.ok || !r.fix ? head : `${head}\n     fix: ${r.fix}`;
		})
		.join("\n");
}

export async function doctorCommand(
	args: string[],
	io: CliIo,
	deps: DoctorDeps = defaultDoctorDeps(),
): Promise<number> {
	let values: { config?: string; "time-url"?: string; help?: boolean };
	try {
		({ values } = parseArgs({
			args,
			options: {
				config: { type: "string" },
				"time-url": { type: "string" },
				help: { type: "boolean", short: "h" },
			},
			strict: true,
			allowPositionals: false,
		}));
	} catch (error) {
		return usageError(io, (error as Error).message, DOCTOR_HELP);
	}
	if (values.help) {
		io.out(`${DOCTOR_HELP}\n`);
		return EXIT_OK;
	}
	if (!values.config) return usageError(io, "doctor needs --config FILE", DOCTOR_HELP);
	const results = await runDoctor(values.config, deps, values["time-url"]);
	const failed = results.filter((r) => !r.ok).length;
	io.out(`${formatChecks(results)}\n`);
	io.out(
		failed === 0
			? `doctor: all ${results.length} checks passed as ${deps.user.name}\n`
			: `doctor: ${failed} of ${results.length} checks failed as ${deps.user.name}; run each fix, then doctor again\n`,
	);
	return failed === 0 ? EXIT_OK : EXIT_FAILED;
}
