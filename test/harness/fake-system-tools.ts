// Fake systemctl, loginctl, timedatectl, pkcheck, sudo and ssh-keygen for doctor tests, steered by FAKE_* variables.
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * Writes the fakes into `dir` (put it first on PATH). Defaults describe a healthy host: the unit is
 * loaded, lingering is on, NTP is synchronized; polkit, sudo and known_hosts say no. systemctl appends
 * its arguments to $FAKE_LOG, so a test can prove nothing was started or stopped.
 */
export function writeFakeSystemTools(dir: string): void {
	const fakes: Record<string, string> = {
		systemctl:
			'echo "systemctl $*" >> "$FAKE_LOG"\necho "${FAKE_LOADSTATE:-loaded}"\nexit "${FAKE_SYSTEMCTL_EXIT:-0}"',
		loginctl: 'echo "${FAKE_LINGER:-yes}"',
		timedatectl: 'echo "${FAKE_NTP:-yes}"',
		pkcheck: 'exit "${FAKE_PKCHECK:-1}"',
		sudo: 'exit "${FAKE_SUDO:-1}"',
		"ssh-keygen": 'exit "${FAKE_KNOWN_HOST:-1}"',
	};
	for (const [name, body] of Object.entries(fakes)) {
		const file = join(dir, name);
		writeFileSync(file, `#!/bin/sh\n${body}\n`);
		chmodSync(file, 0o755);
	}
}
