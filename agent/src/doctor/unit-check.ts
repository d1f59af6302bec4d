// Doctor: the gateway unit exists and this user may start and stop it; checked without starting or stopping it.
import type { AgentConfig } from "../config";
import { type CheckResult, type DoctorDeps, fail, pass, runQuiet } from "./check";

const MANAGE_UNITS = "org.freedesktop.systemd1.manage-units";

export async function checkUnit(config: AgentConfig, deps: DoctorDeps): Promise<CheckResult[]> {
	return config.gatewayUnit.scope === "user" ? userScope(config, deps) : systemScope(config, deps);
}

async function userScope(config: AgentConfig, deps: DoctorDeps): Promise<CheckResult[]> {
	const { name, uid } = deps.user;
	const unit = config.gatewayUnit.name;
	const results: CheckResult[] = [];
	const linger = await runQuiet(deps, [
		"loginctl",
		"show-user",
		name,
		"--property=Linger",
		"--value",
	]);
	if (linger.output !== "yes") {
		return [
			fail(
				"lingering",
				`${name} has no lingering, so its systemd --user manager stops when nobody is logged in`,
				`sudo loginctl enable-linger ${name}`,
			),
		];
	}
	results.push(pass("lingering", `on for ${name}`));
	// The agent sets this itself when the unit's environment lacks it (see systemd-step.ts).
	const runtime = deps.env.XDG_RUNTIME_DIR ?? `/run/user/${uid}`;
	if (!(await deps.exists(runtime))) {
		results.push(
			fail(
				"user manager",
				`${runtime} does not exist: ${name}'s systemd --user manager is not running`,
				`sudo systemctl start user@${uid}.service`,
			),
		);
		return results;
	}
	const shown = await runQuiet(
		deps,
		["systemctl", "--user", "show", "--property=LoadState", "--value", unit],
		{ env: { XDG_RUNTIME_DIR: runtime } },
	);
	if (shown.code !== 0) {
		results.push(
			fail(
				"gateway unit",
				`systemctl --user cannot reach ${name}'s manager: ${shown.output || shown.spawnError || "no output"}`,
				`sudo loginctl enable-linger ${name} && sudo systemctl start user@${uid}.service`,
			),
		);
		return results;
	}
	if (shown.output !== "loaded") {
		results.push(
			fail(
				"gateway unit",
				`${unit} is ${shown.output || "unknown"} in ${name}'s user manager`,
				`sudo -u ${name} XDG_RUNTIME_DIR=${runtime} openclaw gateway install   # or fix gatewayUnit.name (systemctl --user list-unit-files 'openclaw*')`,
			),
		);
		return results;
	}
	// A user manager lets its own user start and stop its units: no further permission to check.
	results.push(
		pass("gateway unit", `${unit} is loaded in ${name}'s user manager, which ${name} controls`),
	);
	return results;
}

async function systemScope(config: AgentConfig, deps: DoctorDeps): Promise<CheckResult[]> {
	const unit = config.gatewayUnit.name;
	const { name, uid } = deps.user;
	const shown = await runQuiet(deps, [
		"systemctl",
		"show",
		"--property=LoadState",
		"--value",
		unit,
	]);
	if (shown.code !== 0 || shown.output !== "loaded") {
		return [
			fail(
				"gateway unit",
				`${unit} is ${shown.output || shown.spawnError || "unknown"} in the system manager`,
				`systemctl list-unit-files 'openclaw*'   # then set gatewayUnit.name, or "scope": "user" for a user unit`,
			),
		];
	}
	const results = [pass("gateway unit", `${unit} is loaded (system)`)];
	const granted: string[] = [];
	for (const verb of ["start", "stop"]) {
		// pkcheck asks polkit the question systemd will ask, with the same details, and changes nothing.
		const pk = await runQuiet(deps, [
			"pkcheck",
			"--action-id",
			MANAGE_UNITS,
			"--process",
			String(process.pid),
			"--detail",
			"unit",
			unit,
			"--detail",
			"verb",
			verb,
		]);
		if (pk.code === 0) granted.push(verb);
	}
	if (granted.length === 2) {
		results.push(pass("permission", `polkit lets ${name} start and stop ${unit}`));
		return results;
	}
	// sudoers alternative: `sudo -n -l CMD` exits 0 when CMD is allowed without a password, runs nothing.
	const sudo = await runQuiet(deps, ["sudo", "-n", "-l", "/usr/bin/systemctl", "start", unit]);
	const sudoStop = await runQuiet(deps, ["sudo", "-n", "-l", "/usr/bin/systemctl", "stop", unit]);
	if (sudo.code === 0 && sudoStop.code === 0) {
		results.push(
			pass(
				"permission",
				`sudoers lets ${name} start and stop ${unit} (the actions must call sudo through exec steps)`,
			),
		);
		return results;
	}
	results.push(
		fail(
			"permission",
			`${name} may not start and stop ${unit} (polkit said no${granted.length ? ` to ${["start", "stop"].filter((v) => !granted.includes(v)).join(", ")}` : ""}, no sudoers rule)`,
			`sudo install -m 0644 50-failover-agent.rules /etc/polkit-1/rules.d/   # from agent/systemd/ with agentUser "${name}" and gatewayUnit "${unit}"; on polkit < 0.106 (no .rules) use agent/systemd/failover-agent.sudoers`,
		),
	);
	return results;
}
