// Promise forms of the node:fs calls the long-running agent makes, without loading node:fs/promises.
import * as fs from "node:fs";
import { promisify } from "node:util";

// Why not node:fs/promises: loading it loads Node's readline interface and REPL history modules
// too (for FileHandle.readLines): 1.5 MiB of RSS in a bare Node 24 process, 0.2 to 0.3 MiB in the
// agent, which loads the streams it shares anyway (docs/agent.md, "Fifth round"). node:fs is loaded
// by Node's bootstrap anyway, and util.promisify uses the promise signature @types/node declares for
// each (`__promisify__`), so these behave and type-check as their node:fs/promises namesakes.
// Commands that exit when done (keygen, doctor, call, check-config) keep node:fs/promises.

export const readFile = promisify(fs.readFile);
export const writeFile = promisify(fs.writeFile);
export const readdir = promisify(fs.readdir);
export const readlink = promisify(fs.readlink);
export const stat = promisify(fs.stat);
export const lstat = promisify(fs.lstat);
export const rm = promisify(fs.rm);
export const mkdir = promisify(fs.mkdir);
export const mkdtemp = promisify(fs.mkdtemp);
export const rename = promisify(fs.rename);
/** Opens a file and resolves its descriptor (a number, not a FileHandle): close it with `close`. */
export const open = promisify(fs.open);
export const fsync = promisify(fs.fsync);
export const fstat = promisify(fs.fstat);
/** Resolves the number of bytes read (node:fs's callback passes it first). */
export const read = (
	fd: number,
	buffer: Uint8Array,
	offset: number,
	length: number,
	position: number | null,
): Promise<number> =>
	new Promise((resolve, reject) =>
		fs.read(fd, buffer, offset, length, position, (error, bytesRead) =>
			error ? reject(error) : resolve(bytesRead),
		),
	);
export const close = promisify(fs.close);
