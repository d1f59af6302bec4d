// Stops a child started with `detached: true` together with everything it spawned (its process group).
import type { ChildProcess } from "node:child_process";

/** Sends `sig` to the group, escalates to SIGKILL after `graceMs`, and resolves once the child exited. */
export async function stopGroup(
	child: ChildProcess | undefined,
	sig: NodeJS.Signals,
	graceMs: number,
): Promise<void> {
	if (!child || child.exitCode !== null || child.pid === undefined) return;
	const pid = child.pid;
	const exited = new Promise<void>((r) => child.once("exit", () => r()));
	const kill = (s: NodeJS.Signals) => {
		try {
			process.kill(-pid, s);
		} catch {}
	};
	kill(sig);
	const timer = setTimeout(() => kill("SIGKILL"), graceMs);
	await exited;
	clearTimeout(timer);
}
