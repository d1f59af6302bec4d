import { describe, expect, it } from "vitest";
import { createTailscaleWitness, tailscaleAuthFromEnv } from "../../worker/src/tailscale";

type Handler = (req: Request, signal?: AbortSignal) => Response | Promise<Response>;

function fakeApi(handler: Handler) {
	const calls: Request[] = [];
	const f = (async (input: RequestInfo | URL, init?: RequestInit) => {
		const req = new Request(input, init);
		calls.push(req.clone());
		return handler(req, init?.signal ?? undefined);
	}) as typeof fetch;
	return { fetch: f, calls };
}

const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
	new Response(JSON.stringify(body), {
		status,
		headers: { "content-type": "application/json", ...headers },
	});

const BASE = "https://api.tailscale.example.test";

describe("tailscale witness", () => {
	it("reads connectedToControl with an API key", async () => {
		const api = fakeApi((req) => {
			expect(req.headers.get("authorization")).toBe("Bearer tskey-api-x");
			expect(new URL(req.url).pathname).toBe("/api/v2/device/n123");
			return json({ connectedToControl: false });
		});
		const w = createTailscaleWitness({
			auth: { kind: "api-key", apiKey: "tskey-api-x" },
			fetch: api.fetch,
			baseUrl: BASE,
		});
		expect(await w.view("n123", 1000)).toEqual({ connected: false });
	});

	it("gets an OAuth token once and reuses it", async () => {
		let clock = 0;
		const api = fakeApi(async (req) => {
			const path = new URL(req.url).pathname;
			if (path === "/api/v2/oauth/token") {
				const form = new URLSearchParams(await req.text());
				expect(form.get("client_id")).toBe("cid");
				expect(form.get("grant_type")).toBe("client_credentials");
				return json({ access_token: "tok", expires_in: 3600 });
			}
			expect(req.headers.get("authorization")).toBe("Bearer tok");
			return json({ connectedToControl: true });
		});
		const w = createTailscaleWitness({
			auth: { kind: "oauth", clientId: "cid", clientSecret: "sec" },
			fetch: api.fetch,
			baseUrl: BASE,
			now: () => clock,
		});
		expect(await w.view("a", 1000)).toEqual({ connected: true });
		clock += 40_000; // past the 30 s view cache
		expect(await w.view("a", 1000)).toEqual({ connected: true });
		const tokenCalls = api.calls.filter((r) => r.url.endsWith("/oauth/token"));
		expect(tokenCalls).toHaveLength(1);
		expect(api.calls).toHaveLength(3);
	});

	it("caches a view for 30 s, then asks again", async () => {
		let clock = 0;
		const api = fakeApi(() => json({ connectedToControl: true }));
		const w = createTailscaleWitness({
			auth: { kind: "api-key", apiKey: "k" },
			fetch: api.fetch,
			baseUrl: BASE,
			now: () => clock,
		});
		await w.view("a", 1000);
		clock += 29_000;
		await w.view("a", 1000);
		expect(api.calls).toHaveLength(1);
		clock += 2_000;
		await w.view("a", 1000);
		expect(api.calls).toHaveLength(2);
	});

	it("retries 429 and 5xx a bounded number of times", async () => {
		let n = 0;
		const api = fakeApi(() => {
			n += 1;
			return n === 1
				? json({}, 429, { "retry-after": "0" })
				: n === 2
					? json({}, 503)
					: json({ connectedToControl: true });
		});
		const w = createTailscaleWitness({
			auth: { kind: "api-key", apiKey: "k" },
			fetch: api.fetch,
			baseUrl: BASE,
		});
		expect(await w.view("a", 5000)).toEqual({ connected: true });
		expect(n).toBe(3);
	});

	it("gives up after the retries and reports unknown, not down", async () => {
		const api = fakeApi(() => json({}, 500));
		const w = createTailscaleWitness({
			auth: { kind: "api-key", apiKey: "k" },
			fetch: api.fetch,
			baseUrl: BASE,
		});
		const v = await w.view("a", 5000);
		expect(v).toEqual({ error: "HTTP 500" });
		expect(api.calls).toHaveLength(3);
		// Errors are not cached.
		await w.view("a", 5000);
		expect(api.calls).toHaveLength(6);
	});

	it("explains auth and unknown-device errors without retrying them", async () => {
		for (const [status, text] of [
			[401, "check the Tailscale API key"],
			[404, "no such device"],
		] as const) {
			const api = fakeApi(() => json({ message: "nope" }, status));
			const w = createTailscaleWitness({
				auth: { kind: "api-key", apiKey: "k" },
				fetch: api.fetch,
				baseUrl: BASE,
			});
			const v = await w.view("a", 1000);
			expect("error" in v && v.error).toContain(text);
			expect(api.calls).toHaveLength(1);
		}
	});

	it("answers within the deadline when the API hangs", async () => {
		const api = fakeApi(
			(_req, signal) =>
				new Promise<Response>((_, reject) => {
					// Like real fetch: an already-aborted signal rejects at once.
					if (signal?.aborted) reject(signal.reason);
					signal?.addEventListener("abort", () => reject(signal.reason));
				}),
		);
		const w = createTailscaleWitness({
			auth: { kind: "api-key", apiKey: "k" },
			fetch: api.fetch,
			baseUrl: BASE,
		});
		const v = await w.view("a", 50);
		expect(v).toEqual({ error: "timed out" });
	});

	it("treats a body without connectedToControl as unknown", async () => {
		const api = fakeApi(() => json({ id: "x" }));
		const w = createTailscaleWitness({
			auth: { kind: "api-key", apiKey: "k" },
			fetch: api.fetch,
			baseUrl: BASE,
		});
		expect(await w.view("a", 1000)).toEqual({
			error: "the API answered without connectedToControl",
		});
	});

	it("prefers OAuth credentials over an API key and needs both halves", () => {
		expect(tailscaleAuthFromEnv({})).toBeUndefined();
		expect(tailscaleAuthFromEnv({ TAILSCALE_OAUTH_CLIENT_ID: "a" })).toBeUndefined();
		expect(tailscaleAuthFromEnv({ TAILSCALE_API_KEY: "k" })).toEqual({
			kind: "api-key",
			apiKey: "k",
		});
		expect(
			tailscaleAuthFromEnv({
				TAILSCALE_API_KEY: "k",
				TAILSCALE_OAUTH_CLIENT_ID: "a",
				TAILSCALE_OAUTH_CLIENT_SECRET: "b",
			})?.kind,
		).toBe("oauth");
	});
});
