// Durable file replacement: write a temp file, fsync it, rename over the target, fsync the directory.
import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { basename, dirname, join } from "node:path";
import {
	close,
	fstat,
	fsync,
	mkdir,
	open,
	read,
	readFile,
	rename,
	rm,
	writeFile,
} from "./fs-async";

/**
 * After a crash the file holds either the old or the new content, never a mix: rename is atomic on
 * POSIX filesystems, and the fsyncs order the data before the rename and the rename before our return.
 */
export async function writeFileAtomic(path: string, data: string, mode = 0o600): Promise<void> {
	const dir = dirname(path);
	const temp = join(dir, `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
	const fd = await open(temp, "wx", mode);
	try {
		try {
			await writeFile(fd, data, "utf8");
			await fsync(fd);
		} finally {
			await close(fd);
		}
		await rename(temp, path);
	} catch (error) {
		// A failed write (ENOSPC, EIO) would otherwise leave a partial temp file per attempt, and the
		// callers retry at every lease or state change. The first error is the one to report.
		await rm(temp, { force: true }).catch(() => {});
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

/**
 * Reads a whole text file. `stateFile` is for the agent's own files in its state dir, which it alone
 * writes (always as regular files, by rename): anything else there is refused rather than followed or
 * waited on. A FIFO would block the read, and with it the agent's start, forever (the gateway then runs
 * unfenced); a symlink would have the agent read, and log a JSON error quoting, a file it never wrote
 * (/etc/shadow as root); a huge file would be read whole into memory. `stateFile.maxBytes`: the
 * largest file accepted, bytes.
 */
export async function readTextFile(
	path: string,
	options: { stateFile?: { maxBytes: number } } = {},
): Promise<ReadText> {
	try {
		if (options.stateFile === undefined) return { ok: true, text: await readFile(path, "utf8") };
		return await readStateFile(path, options.stateFile.maxBytes);
	} catch (error) {
		const code = (error as NodeJS.ErrnoException).code;
		if (code === "ENOENT") return { ok: false, missing: true };
		if (code === "ELOOP")
			return {
				ok: false,
				missing: false,
				message: `${path} is a symbolic link, not a file the agent wrote`,
			};
		return { ok: false, missing: false, message: (error as Error).message };
	}
}

async function readStateFile(path: string, maxBytes: number): Promise<ReadText> {
	// O_NONBLOCK: opening a FIFO for reading does not wait for a writer; O_NOFOLLOW: ELOOP on a symlink.
	const fd = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
	try {
		const st = await fstat(fd);
		if (!st.isFile())
			return { ok: false, missing: false, message: `${path} is not a regular file` };
		if (st.size > maxBytes)
			return {
				ok: false,
				missing: false,
				message: `${path} is ${st.size} bytes, over the ${maxBytes} expected`,
			};
		// Sized by the file (a cap of 64 MiB must not cost 64 MiB per read), one byte over so the end
		// shows; a file grown since fstat grows the buffer up to one byte over the cap, and is refused there.
		let buffer = Buffer.alloc(st.size + 1);
		let length = 0;
		for (;;) {
			if (length === buffer.length) {
				const bigger = Buffer.alloc(Math.min(maxBytes + 1, buffer.length * 2));
				buffer.copy(bigger, 0, 0, length);
				buffer = bigger;
			}
			const n = await read(fd, buffer, length, buffer.length - length, null);
			if (n === 0) break;
			length += n;
			if (length > maxBytes)
				return {
					ok: false,
					missing: false,
					message: `${path} is over the ${maxBytes} bytes expected`,
				};
		}
		return { ok: true, text: buffer.toString("utf8", 0, length) };
	} finally {
		await close(fd);
	}
}
