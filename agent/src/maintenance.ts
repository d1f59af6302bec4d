// The maintenance window file in the agent's stateDir: written by `failover-agent maintenance`, read by the running agent.

import { join } from "node:path";
import * as z from "../../protocol/zod";
import { readTextFile, writeFileAtomic } from "./atomic-file";
import { rm } from "./fs-async";

export const MAINTENANCE_FILE = "maintenance.json";

/** The longest window one command sets: a forgotten window must not switch failover off for days. */
export const MAX_MAINTENANCE_MS = 24 * 60 * 60 * 1000;

const MaintenanceFileSchema = z.object({
	format: z.literal(1),
	/** End of the window, ms since epoch. */
	until: z.number().check(z.int(), z.minimum(0)),
	/** When it was set, ms since epoch. */
	setAt: z.number().check(z.int(), z.minimum(0)),
});
export type MaintenanceFile = z.infer<typeof MaintenanceFileSchema>;

export function maintenancePath(stateDir: string): string {
	return join(stateDir, MAINTENANCE_FILE);
}

/**
 * Parses a duration like `90s`, `10m`, `1h30m` or `2h` into ms. Refuses anything else, zero, and more
 * than MAX_MAINTENANCE_MS, with a message saying what to write instead.
 */
export function parseDuration(
	text: string,
): { ok: true; ms: number } | { ok: false; message: string } {
	const trimmed = text.trim().toLowerCase();
	const example = 'e.g. "90s", "10m", "1h30m" (s, m or h; at most 24h)';
	if (!/^(\d{1,6}[hms])+$/.test(trimmed)) {
		return { ok: false, message: `invalid duration ${JSON.stringify(text)}: expected ${example}` };
	}
	let ms = 0;
	const seen = new Set<string>();
	for (const [, n, unit] of trimmed.matchAll(/(\d+)([hms])/g)) {
		if (unit === undefined || seen.has(unit)) {
			return {
				ok: false,
				message: `invalid duration ${JSON.stringify(text)}: each unit once, ${example}`,
			};
		}
		seen.add(unit);
		ms += Number(n) * (unit === "h" ? 3_600_000 : unit === "m" ? 60_000 : 1_000);
	}
	if (ms <= 0)
		return { ok: false, message: `duration ${JSON.stringify(text)} is zero: expected ${example}` };
	if (ms > MAX_MAINTENANCE_MS) {
		return {
			ok: false,
			message: `duration ${JSON.stringify(text)} is longer than 24h: a window that long would leave the pair without failover; set a shorter one and extend it if needed`,
		};
	}
	return { ok: true, ms };
}

/** Writes the window atomically, mode 0644 so an agent running as another user can read what root wrote. */
export async function writeMaintenance(stateDir: string, window: MaintenanceFile): Promise<void> {
	await writeFileAtomic(maintenancePath(stateDir), `${JSON.stringify(window)}\n`, 0o644);
}

/** Ends the window: removes the file (absent already is fine). */
export async function clearMaintenance(stateDir: string): Promise<void> {
	await rm(maintenancePath(stateDir), { force: true });
}

export type MaintenanceRead =
	| { ok: true; window: MaintenanceFile | null }
	| { ok: false; message: string };

export async function readMaintenance(stateDir: string): Promise<MaintenanceRead> {
	const file = maintenancePath(stateDir);
	// A window is about 60 bytes: 4 KiB refuses anything the CLI did not write.
	const read = await readTextFile(file, { stateFile: { maxBytes: 4_096 } });
	if (!read.ok)
		return read.missing ? { ok: true, window: null } : { ok: false, message: read.message };
	let json: unknown;
	try {
		json = JSON.parse(read.text);
	} catch {
		return { ok: false, message: `${file} is not JSON` };
	}
	const parsed = MaintenanceFileSchema.safeParse(json);
	if (!parsed.success)
		return { ok: false, message: `${file} is not a maintenance file this agent understands` };
	return { ok: true, window: parsed.data };
}

/**
 * The window as status reports it: its end while it lasts, else null. A damaged file is logged by the
 * caller and reported as no window (the pair keeps its failover rather than pausing on garbage).
 */
export function activeUntil(read: MaintenanceRead, now: number): number | null {
	if (!read.ok || read.window === null) return null;
	return read.window.until > now ? read.window.until : null;
}
