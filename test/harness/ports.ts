// Free loopback ports for the processes a test starts.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export async function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const s = createServer();
		s.once("error", reject);
		s.listen(0, "127.0.0.1", () => {
			const addr = s.address();
			const port = addr && typeof addr === "object" ? addr.port : 0;
			s.close(() => resolve(port));
		});
	});
}

/** Polls `check` until it returns true or `timeoutMs` passes. */
export async function waitFor(
	what: string,
	check: () => Promise<boolean> | boolean,
	timeoutMs: number,
	intervalMs = 100,
): Promise<void> {
	const end = Date.now() + timeoutMs;
	let lastError: unknown;
	while (Date.now() < end) {
		try {
			if (await check()) return;
		} catch (e) {
			lastError = e;
		}
		await new Promise((r) => setTimeout(r, intervalMs));
	}
	throw new Error(
		`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ""}`,
	);
}

/** Listens on an ephemeral loopback port and returns it. */
export async function listenLoopback(server: {
	listen(port: number, host: string, cb: () => void): unknown;
	address(): unknown;
}): Promise<number> {
	await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
	const addr = server.address();
	return addr && typeof addr === "object" && "port" in addr ? Number(addr.port) : 0;
}

// Ports a lab names long before anything listens on them (a stand-in gateway's, while it is stopped;
// the Worker's, while wrangler starts) come from below the kernel's ephemeral range (Linux 32768-60999,
// macOS 49152-65535), so no outgoing connection can take one meanwhile, and each is claimed by an
// exclusive lock file, so labs running side by side (e2e files, bench) never pick the same one.
const RESERVED_FROM = 20_000;
const RESERVED_TO = 32_000;
const LOCK_DIR = join(tmpdir(), "fg-lab-ports");
const reserved = new Set<number>();

/** Whether a lock file names a process that no longer runs (a run that was killed). */
function stale(lock: string): boolean {
	try {
		process.kill(Number(readFileSync(lock, "utf8")), 0);
		return false;
	} catch (e) {
		return (e as NodeJS.ErrnoException).code !== "EPERM";
	}
}

async function canListen(port: number): Promise<boolean> {
	return new Promise((resolve) => {
		const s = createServer();
		s.once("error", () => resolve(false));
		s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
	});
}

/**
 * A loopback port held for this process until it exits: nothing else on this machine is handed it
 * meanwhile (see above). Falls back to an ephemeral free port after 200 tries.
 */
export async function reservePort(): Promise<number> {
	mkdirSync(LOCK_DIR, { recursive: true });
	for (let i = 0; i < 200; i++) {
		const port = RESERVED_FROM + Math.floor(Math.random() * (RESERVED_TO - RESERVED_FROM));
		const lock = join(LOCK_DIR, String(port));
		try {
			writeFileSync(lock, String(process.pid), { flag: "wx" });
		} catch {
			if (stale(lock)) rmSync(lock, { force: true });
			continue;
		}
		if (await canListen(port)) {
			reserved.add(port);
			return port;
		}
		rmSync(lock, { force: true });
	}
	return freePort();
}

process.once("exit", () => {
	for (const port of reserved) rmSync(join(LOCK_DIR, String(port)), { force: true });
});
