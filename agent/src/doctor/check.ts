// What one `failover-agent doctor` check reports, and the I/O every check is given (so tests swap it).
import type { CommandRunner } from "../steps/run-command";

/** A check's verdict: `fix` is one line with the exact command, present whenever `ok` is false. */
export interface CheckResult {
	name: string;
	ok: boolean;
	detail: string;
	fix?: string;
}

export interface DoctorDeps {
	/** Runs git, systemctl, loginctl, pkcheck, sudo, timedatectl (argv, never a shell). */
	run: CommandRunner;
	/** Merged over the process environment for every command (tests put fakes first on PATH). */
	env: Readonly<Record<string, string>>;
	fetch: typeof fetch;
	/** The user doctor runs as (the unit's User=): name, uid, home. */
	user: { name: string; uid: number; home: string };
	/** Wall clock, ms. */
	now: () => number;
	/** Whether a path exists (XDG_RUNTIME_DIR, known_hosts). */
	exists: (path: string) => Promise<boolean>;
}

export const pass = (name: string, detail: string): CheckResult => ({ name, ok: true, detail });
export const fail = (name: string, detail: string, fix: string): CheckResult => ({
	name,
	ok: false,
	detail,
	fix,
});

/** Every command doctor runs gets at most this long: each is a local query or one dry-run round trip. */
export const COMMAND_TIMEOUT_MS = 20_000;

/** Runs argv and returns exit code (null when it did not exit normally) and trimmed output. */
export async function runQuiet(
	deps: DoctorDeps,
	argv: string[],
	opts: { cwd?: string; env?: Record<string, string> } = {},
): Promise<{ code: number | null; output: string; spawnError?: string }> {
	const r = await deps.run({
		argv,
		...(opts.cwd ? { cwd: opts.cwd } : {}),
		env: { ...deps.env, ...opts.env },
		timeoutMs: COMMAND_TIMEOUT_MS,
	});
	if (r.kind === "exited") return { code: r.exitCode, output: r.output.trim() };
	if (r.kind === "spawn-failed") return { code: null, output: "", spawnError: r.error };
	return { code: null, output: `${r.output.trim()} (${r.kind})`.trim() };
}
