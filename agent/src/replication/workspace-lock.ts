// One git operation per workspace at a time, across replication cycles and action steps in this process.
import { resolve } from "node:path";

const tails = new Map<string, Promise<unknown>>();

/**
 * Runs `fn` once every earlier holder of `workspace`'s lock has finished (FIFO). Process-wide on purpose:
 * the replicator and the git steps of an action are separate objects but must never run git in the same
 * repository at once (two gits race for `.git/index.lock`, and a merge must not see a half-made commit).
 */
export async function withWorkspaceLock<T>(workspace: string, fn: () => Promise<T>): Promise<T> {
	const key = resolve(workspace);
	const previous = tails.get(key) ?? Promise.resolve();
	let release!: () => void;
	const mine = new Promise<void>((r) => {
		release = r;
	});
	const tail = previous.then(() => mine);
	tails.set(key, tail);
	await previous.catch(() => {});
	try {
		return await fn();
	} finally {
		release();
		if (tails.get(key) === tail) tails.delete(key);
	}
}

/** Whether some git operation holds or awaits `workspace`'s lock right now (status and tests). */
export function workspaceBusy(workspace: string): boolean {
	return tails.has(resolve(workspace));
}
