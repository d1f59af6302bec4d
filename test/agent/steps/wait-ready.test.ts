import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { runStep, type StepContext } from "../../../agent/src/steps/run-step";
import { StepSchema } from "../../../agent/src/steps/schema";
import { freePort } from "./helpers";

const servers: Server[] = [];
afterEach(async () => {
	for (const s of servers.splice(0)) {
		s.closeAllConnections();
		await new Promise((r) => s.close(r));
	}
});

/** A loopback gateway: `answer(n)` gives the status for the n-th request (1-based); null means never answer. */
async function serve(
	answer: (n: number) => number | null,
): Promise<{ url: string; hits: () => number }> {
	let n = 0;
	const server = createServer((req, res) => {
		n++;
		const status = answer(n);
		if (status !== null) res.writeHead(status).end(status === 200 ? "ready" : "not ready");
	});
	servers.push(server);
	await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
	const { port } = server.address() as AddressInfo;
	return { url: `http://127.0.0.1:${port}/readyz`, hits: () => n };
}

const ctxFor = (readyUrl: string): StepContext => ({
	workspace: "/nonexistent",
	gatewayUnit: { name: "openclaw-gateway.service", scope: "system" },
	readyUrl,
});

const waitReady = (fields: Record<string, unknown> = {}) =>
	StepSchema.parse({ type: "wait-ready", intervalMs: 50, ...fields });

describe("wait-ready step", () => {
	it("polls the context's readiness URL until it answers 200", async () => {
		// Not ready for the first three requests, like a gateway still starting.
		const gw = await serve((n) => (n <= 3 ? 503 : 200));
		const outcome = await runStep(waitReady({ timeoutMs: 20_000 }), ctxFor(gw.url));
		expect(outcome.status).toBe("succeeded");
		expect(outcome.output).toContain("answered 200 after 4 attempt(s)");
		expect(gw.hits()).toBe(4);
	});

	it("fails at its timeout with the last status when the gateway answers 503 forever", async () => {
		const gw = await serve(() => 503);
		const outcome = await runStep(waitReady({ timeoutMs: 600 }), ctxFor(gw.url));
		expect(outcome.status).toBe("failed");
		expect(outcome.error).toContain("not ready after 600 ms; last: http 503");
		expect(gw.hits()).toBeGreaterThan(1);
	});

	it("fails with a connect error for a closed port", async () => {
		const port = await freePort();
		const outcome = await runStep(
			waitReady({ timeoutMs: 400 }),
			ctxFor(`http://127.0.0.1:${port}/readyz`),
		);
		expect(outcome.status).toBe("failed");
		expect(outcome.error).toContain("connect error: ECONNREFUSED");
	});

	it("gives up on a request that never answers and says it timed out", async () => {
		const gw = await serve(() => null);
		const outcome = await runStep(waitReady({ timeoutMs: 400 }), ctxFor(gw.url));
		expect(outcome.status).toBe("failed");
		// Per-request deadline is min(2000, what is left of the step), so the step still ends on time.
		expect(outcome.error).toMatch(/last: timeout after \d+ ms/);
	});

	it("treats other statuses (redirects included) as not ready", async () => {
		const gw = await serve((n) => (n === 1 ? 302 : n === 2 ? 204 : 200));
		const outcome = await runStep(waitReady({ timeoutMs: 20_000 }), ctxFor(gw.url));
		expect(outcome.status).toBe("succeeded");
		expect(gw.hits()).toBe(3);
	});

	it("uses the step's own url over the context's", async () => {
		const gw = await serve(() => 200);
		const outcome = await runStep(
			waitReady({ url: gw.url, timeoutMs: 5_000 }),
			ctxFor("http://127.0.0.1:9/never"),
		);
		expect(outcome.status).toBe("succeeded");
	});

	it("stops when aborted", async () => {
		const gw = await serve(() => 503);
		const controller = new AbortController();
		setTimeout(() => controller.abort(), 150);
		const outcome = await runStep(waitReady({ timeoutMs: 60_000 }), {
			...ctxFor(gw.url),
			signal: controller.signal,
		});
		expect(outcome.status).toBe("failed");
		expect(outcome.error).toContain("aborted");
	});

	it("never echoes a token from the URL's query", async () => {
		const gw = await serve((n) => (n === 1 ? 503 : 200));
		const url = `${gw.url}?token=q-secret`;
		const failedOutcome = await runStep(
			waitReady({ timeoutMs: 300 }),
			ctxFor(url.replace(/:\d+\//, ":1/")),
		);
		expect(failedOutcome.status).toBe("failed");
		expect(JSON.stringify(failedOutcome)).not.toContain("secret");
		const ok = await runStep(waitReady({ timeoutMs: 5_000 }), ctxFor(url));
		expect(ok.status).toBe("succeeded");
		expect(JSON.stringify(ok)).not.toContain("secret");
	});

	it("refuses credentials in the URL at once, without echoing them", async () => {
		const outcome = await runStep(waitReady(), ctxFor("http://user:pw-secret@127.0.0.1:9/readyz"));
		expect(outcome.status).toBe("failed");
		expect(outcome.error).toContain("credentials in the URL are not supported");
		expect(JSON.stringify(outcome)).not.toContain("secret");
	});

	it("fails at once on a malformed context URL", async () => {
		const outcome = await runStep(waitReady(), ctxFor("not a url"));
		expect(outcome.status).toBe("failed");
		expect(outcome.error).toContain("invalid readiness URL");
	});

	it("uses an injected fetch, with a deadline on every request", async () => {
		const calls: { url: string; hasSignal: boolean }[] = [];
		const fakeFetch = (async (input: string | URL | Request, init?: RequestInit) => {
			calls.push({ url: String(input), hasSignal: init?.signal instanceof AbortSignal });
			return new Response("", { status: calls.length < 2 ? 503 : 200 });
		}) as typeof fetch;
		const outcome = await runStep(waitReady({ timeoutMs: 5_000 }), {
			...ctxFor("http://gateway.invalid/readyz"),
			fetch: fakeFetch,
		});
		expect(outcome.status).toBe("succeeded");
		expect(calls).toEqual([
			{ url: "http://gateway.invalid/readyz", hasSignal: true },
			{ url: "http://gateway.invalid/readyz", hasSignal: true },
		]);
	});
});
