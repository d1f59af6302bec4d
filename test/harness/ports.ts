// Free loopback ports for the processes a test starts.
import { createServer } from "node:net";

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
