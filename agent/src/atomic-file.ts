// Durable file replacement: write a temp file, fsync it, rename over the target, fsync the directory.
import { randomBytes } from "node:crypto";
import { mkdir, open, readFile, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/**
 * After a crash the file holds either the old or the new content, never a mix: rename is atomic on
 * POSIX filesystems, and the fsyncs order the data before the rename and the rename before our return.
 */
export async function writeFileAtomic(path: string, data: string, mode = 0o600): Promise<void> {
	const dir = dirname(path);
	const temp = join(dir, `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
	const handle = await open(temp, "wx", mode);
	try {
		await handle.writeFile(data, "utf8");
		await handle.sync();
	} finally {
		await handle.close();
	}
	try {
		await rename(temp, path);
	} catch (error) {
		await rm(temp, { force: true });
		throw error;
	}
	const dirHandle = await open(dir, "r");
	try {
		await dirHandle.sync();
	} finally {
		await dirHandle.close();
	}
}

/** Creates the directory (and parents) with owner-only access if it does not exist. */
export async function ensureDir(path: string): Promise<void> {
	await mkdir(path, { recursive: true, mode: 0o700 });
}

export type ReadText =
	| { ok: true; text: string }
	| { ok: false; missing: true }
	| { ok: false; missing: false; message: string };

export async function readTextFile(path: string): Promise<ReadText> {
	try {
		return { ok: true, text: await readFile(path, "utf8") };
	} catch (error) {
		const code = (error as NodeJS.ErrnoException).code;
		if (code === "ENOENT") return { ok: false, missing: true };
		return { ok: false, missing: false, message: (error as Error).message };
	}
}
