// The agent's readiness GET on node:http: statuses as values, no redirects followed, fetch-shaped errors, deadlines honoured.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { httpGet, MAX_READY_BODY_BYTES, readyBodyText } from "../../agent/src/http-get";
import { probeReady } from "../../agent/src/probe";

const servers: Server[] = [];
afterEach(async () => {
	for (const s of servers.splice(0)) {
		s.closeAllConnections();
		await new Promise((r) => s.close(r));
	}
});

/** A loopback server answering each path as `routes` says; "hang" never answers. */
async function serve(routes: Record<string, number | "hang">): Promise<string> {
	const server = createServer((req, res) => {
		const route = routes[req.url ?? ""];
		if (route === "hang" || route === undefined) return;
		const headers: Record<string, string> =
			route === 302 ? { location: "/elsewhere" } : { "content-type": "text/plain" };
		// A ready answer as OpenClaw gives it, then padding: the reader stops at its bound.
		res.writeHead(route, headers).end(`{"ready":true}${" ".repeat(100_000)}`);
	});
	servers.push(server);
	await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
	return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const init = (signal = AbortSignal.timeout(5_000)) =>
	({ signal, redirect: "manual", headers: { "user-agent": "test" } }) as const;

describe("httpGet", () => {
	it.each([200, 204, 302, 404, 503])("resolves with status %i", async (status) => {
		const base = await serve({ "/r": status });
		expect((await httpGet(`${base}/r`, init())).status).toBe(status);
	});

	it("does not follow a redirect (a login page is not a ready gateway)", async () => {
		const base = await serve({ "/r": 302, "/elsewhere": 200 });
		expect((await httpGet(`${base}/r`, init())).status).toBe(302);
	});

	it("rejects like fetch on a refused connection: TypeError with the socket code in cause", async () => {
		const base = await serve({});
		const port = new URL(base).port;
		await afterEachClose();
		const error = await httpGet(`http://127.0.0.1:${port}/r`, init()).catch((e: unknown) => e);
		expect(error).toBeInstanceOf(TypeError);
		expect((error as { cause?: { code?: string } }).cause?.code).toBe("ECONNREFUSED");
	});

	it("rejects with the signal's reason at the deadline (TimeoutError) and when aborted before", async () => {
		const base = await serve({ "/hang": "hang" });
		const timedOut = await httpGet(`${base}/hang`, init(AbortSignal.timeout(100))).catch(
			(e: unknown) => e,
		);
		expect((timedOut as Error).name).toBe("TimeoutError");
		const ctrl = new AbortController();
		ctrl.abort(new Error("stopped"));
		await expect(httpGet(`${base}/hang`, init(ctrl.signal))).rejects.toThrow("stopped");
	});

	it.each(["ftp://127.0.0.1/r", "not a url", "file:///etc/passwd"])("refuses %s", async (url) => {
		await expect(httpGet(url, init())).rejects.toBeInstanceOf(TypeError);
	});
});

describe("httpGet and an endless body", () => {
	it("answers at the headers; reading stops at 64 KiB and closes the connection, and so does cancel", async () => {
		let closed = false;
		const server = createServer((_req, res) => {
			res.writeHead(200, { "content-type": "text/plain" });
			const timer = setInterval(() => res.write("x".repeat(1024)), 5);
			res.on("close", () => {
				clearInterval(timer);
				closed = true;
			});
		});
		servers.push(server);
		await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
		const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
		const read = await httpGet(url, init());
		expect(read.status).toBe(200);
		expect((await readyBodyText(read)).length).toBe(MAX_READY_BODY_BYTES);
		await expect.poll(() => closed, { timeout: 2_000 }).toBe(true);
		closed = false;
		const dropped = await httpGet(url, init());
		await dropped.body?.cancel();
		await expect.poll(() => closed, { timeout: 2_000 }).toBe(true);
	});
});

describe("probeReady over httpGet (no fetch injected)", () => {
	it("reads 200 as ready, 503 as http-status, a hang as timeout, a closed port as connect-error", async () => {
		const base = await serve({ "/ok": 200, "/no": 503, "/hang": "hang" });
		expect(await probeReady(`${base}/ok`, { timeoutMs: 2_000 })).toMatchObject({ ok: true });
		expect(await probeReady(`${base}/no`, { timeoutMs: 2_000 })).toMatchObject({
			ok: false,
			reason: "http-status",
			status: 503,
		});
		expect(await probeReady(`${base}/hang`, { timeoutMs: 100 })).toMatchObject({
			ok: false,
			reason: "timeout",
		});
		const port = new URL(base).port;
		await afterEachClose();
		expect(await probeReady(`http://127.0.0.1:${port}/ok`, { timeoutMs: 2_000 })).toMatchObject({
			ok: false,
			reason: "connect-error",
			detail: "ECONNREFUSED",
		});
	});
});

async function afterEachClose(): Promise<void> {
	for (const s of servers.splice(0)) {
		s.closeAllConnections();
		await new Promise((r) => s.close(r));
	}
}
