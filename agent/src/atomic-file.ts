// Durable file replacement: write a temp file, fsync it, rename over the target, fsync the directory.
import { randomBytes } from "node:crypto";
import { basename, dirname, join } from "node:path";
import { close, fsync, mkdir, open, readFile, rename, rm, writeFile } from "./fs-async";

/**
 * After a crash the file holds either the old or the new content, never a mix: rename is atomic on
 * POSIX filesystems, and the fsyncs order the data before the rename and the rename before our return.
 */
export async function writeFileAtomic(path: string, data: string, mode = 0o600): Promise<void> {
	const dir = dirname(path);
	const temp = join(dir, `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
	const fd = await open(temp, "wx", mode);
	try {
		await writeFile(fd, data, "utf8");
		await fsync(fd);
	} finally {
		await close(fd);
	}
	try {
		await rename(temp, path);
	} catch (error) {
		await rm(temp, { force: true });
		throw error;
	}
	const dirFd = await open(dir, "r");
	try {
		await fsync(dirFd);
	} finally {
		await close(dirFd);
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
