// A stand-in `systemctl` for the lab's agents: prints the unit file their FakeGateway keeps, so an agent's
// own-gateway check sees the unit start, run and stop with the stand-in gateway (no real systemd involved).
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** The environment variable naming the unit file an agent's fake systemctl prints. */
export const FAKE_UNIT_FILE_ENV = "FG_FAKE_UNIT_FILE";

/**
 * Writes `<dir>/systemctl` and returns `dir`, to put first on an agent's PATH. It only answers `show`
 * (the agent's one read-only call; the lab's start/stop go through the control server), and costs a
 * `cat`, not a Node start, because the agents call it on every check while their gateway is down.
 */
export function writeFakeSystemctl(dir: string): string {
	mkdirSync(dir, { recursive: true });
	const file = join(dir, "systemctl");
	writeFileSync(
		file,
		`#!/bin/sh
# fake systemctl for the failover-gateway lab: prints the stand-in gateway's unit (only "show" is used)
case " $* " in
  *" show "*) exec cat "$${FAKE_UNIT_FILE_ENV}" ;;
  *) echo "fake systemctl: only show is supported" >&2; exit 1 ;;
esac
`,
	);
	chmodSync(file, 0o755);
	return dir;
}
