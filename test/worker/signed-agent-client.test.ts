import { beforeAll, describe, expect, it } from "vitest";
import {
	generateKeyPair,
	HEADERS,
	type OperationRecord,
	type StatusResponse,
	verifyRequest,
} from "../../protocol";
import { createSignedAgentClient } from "../../worker/src/signed-agent-client";
import type { Command } from "../../worker/src/types";

type Keys = Awaited<ReturnType<typeof generateKeyPair>>;
let keys: Keys;
beforeAll(async () => {
	keys = await generateKeyPair();
});

interface Seen {
	url: string;
	method: string;
	body: string;
	nonce: string | null;
	verified: boolean;
}

/** A fake agent behind an injected fetch: it verifies every signature like the real one. */
function fakeAgent(respond: (seen: Seen, n: number) => Response | Promise<Response>) {
	const seen: Seen[] = [];
	const f = (async (input: RequestInfo | URL, init?: RequestInit) => {
		if (init?.signal?.aborted) throw init.signal.reason;
		const req = new Request(input, init);
		const body = await req.text();
		const url = new URL(req.url);
		const v = await verifyRequest({
			method: req.method,
			path: url.pathname,
			headers: req.headers,
			body,
			publicKeys: [keys.publicKey],
			now: Date.now(),
		});
		const s: Seen = {
			url: req.url,
			method: req.method,
			body,
			nonce: req.headers.get(HEADERS.nonce),
			verified: v.ok,
		};
		seen.push(s);
		return respond(s, seen.length);
	}) as typeof fetch;
	return { fetch: f, seen };
}

const json = (body: unknown, status = 200) =>
	new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

const status = (over: Partial<StatusResponse> = {}): StatusResponse => ({
	version: 1,
	role: "standby",
	term: 4,
	gatewayActive: false,
	lastOperation: null,
	peer: {
		ok: false,
		latencyMs: 2000,
		reason: "timeout",
		consecutiveFailures: 3,
		consecutiveSuccesses: 0,
		checkedAt: 1,
		ageMs: 800,
	},
	now: 2,
	...over,
});

const op = (over: Partial<OperationRecord> = {}): OperationRecord => ({
	opId: "home:promote:t5:a1",
	action: "promote",
	term: 5,
	status: "succeeded",
	startedAt: 1000,
	finishedAt: 4000,
	steps: [
		{ step: "git-pull", status: "succeeded", ms: 100 },
		{ step: "systemd-start", status: "succeeded", ms: 50 },
		{ step: "wait-ready", status: "succeeded", ms: 2000 },
	],
	...over,
});

const promote: Command = {
	action: "promote",
	target: "standby",
	term: 5,
	opId: "home:promote:t5:a1",
};

function client(f: typeof fetch, extra: { primaryUrl?: string } = {}) {
	return createSignedAgentClient({
		standbyUrl: "https://standby.example.test:8443/",
		...extra,
		privateKey: keys.privateKey,
		fetch: f,
		timeoutMs: 500,
		sleep: async () => {},
	});
}

describe("signed agent client", () => {
	it("reads the standby's status, signed, and maps its view of the primary", async () => {
		const agent = fakeAgent(() => json(status()));
		const view = await client(agent.fetch).status();
		expect(agent.seen[0]?.verified).toBe(true);
		expect(agent.seen[0]?.url).toBe("https://standby.example.test:8443/v1/status");
		expect(view).toEqual({
			reachable: true,
			term: 4,
			gatewayActive: false,
			primary: {
				ok: false,
				consecutiveFailures: 3,
				consecutiveSuccesses: 0,
				ageMs: 800,
				latencyMs: 2000,
				reason: "timeout",
			},
		});
	});

	it("reports an agent without a primary probe as reachable with no view", async () => {
		const agent = fakeAgent(() => json(status({ peer: null })));
		const view = await client(agent.fetch).status();
		expect(view).toMatchObject({ reachable: true, primary: null });
	});

	it("treats a rejected signature as unreachable, with the agent's reason", async () => {
		const agent = fakeAgent(() =>
			json({ error: { code: "unknown-key", message: "signed by key id X" } }, 401),
		);
		const view = await client(agent.fetch).status();
		expect(view).toEqual({
			reachable: false,
			reason: "agent answered 401 unknown-key: signed by key id X",
		});
		expect(agent.seen).toHaveLength(1); // 4xx is final: no retry
	});

	it("retries network errors with a fresh nonce each time, then reports unreachable", async () => {
		const agent = fakeAgent(() => {
			throw new TypeError("connection refused");
		});
		const view = await client(agent.fetch).status();
		expect(view).toEqual({ reachable: false, reason: "connect error: connection refused" });
		expect(agent.seen).toHaveLength(3);
		expect(new Set(agent.seen.map((s) => s.nonce)).size).toBe(3);
	});

	it("rejects a status that is not protocol v1", async () => {
		const agent = fakeAgent(() => json({ hello: "world" }));
		expect(await client(agent.fetch).status()).toEqual({
			reachable: false,
			reason: "agent status did not match protocol v1",
		});
	});

	it("stops reading an answer that never ends (at most 256 KiB is read)", async () => {
		const chunk = new Uint8Array(64 * 1024).fill(0x20);
		let pulled = 0;
		// 64 MiB of whitespace, produced only as fast as it is read.
		const endless = () =>
			new ReadableStream<Uint8Array>({
				pull(controller) {
					if (pulled >= 64 * 1024 * 1024) return controller.close();
					pulled += chunk.byteLength;
					controller.enqueue(chunk);
				},
			});
		const agent = fakeAgent(() => new Response(endless(), { status: 200 }));
		const view = await client(agent.fetch).status();
		expect(view).toMatchObject({ reachable: false });
		expect(pulled).toBeLessThan(1024 * 1024);
	});

	it("sends a command with op id, term and waitMs, and maps success", async () => {
		const agent = fakeAgent(() => json(op()));
		const out = await client(agent.fetch).command(promote, { waitMs: 3000 });
		const s = agent.seen[0];
		expect(s?.verified).toBe(true);
		expect(s?.url).toBe("https://standby.example.test:8443/v1/promote");
		expect(JSON.parse(s?.body ?? "")).toEqual({
			opId: "home:promote:t5:a1",
			term: 5,
			waitMs: 3000,
		});
		expect(out).toEqual({
			action: "promote",
			term: 5,
			opId: "home:promote:t5:a1",
			result: "succeeded",
			detail: "git-pull, systemd-start, wait-ready in 3000 ms",
		});
	});

	it("caps waitMs at the protocol's limit", async () => {
		const agent = fakeAgent(() => json(op({ status: "running", finishedAt: undefined })));
		const out = await client(agent.fetch).command(promote, { waitMs: 60_000 });
		expect(JSON.parse(agent.seen[0]?.body ?? "").waitMs).toBe(25_000);
		expect(out.result).toBe("running");
	});

	it("maps a failed step and an interrupted operation to failed, naming the step", async () => {
		const failed = fakeAgent(() =>
			json(
				op({
					status: "failed",
					steps: [{ step: "git-pull", status: "failed", exitCode: 1, error: "not a fast-forward" }],
				}),
			),
		);
		expect((await client(failed.fetch).command(promote, { waitMs: 0 })).detail).toBe(
			"step git-pull failed: not a fast-forward",
		);
		const cut = fakeAgent(() =>
			json(
				op({
					status: "interrupted",
					steps: [
						{ step: "git-pull", status: "succeeded" },
						{ step: "wait-ready", status: "interrupted" },
					],
				}),
			),
		);
		const out = await client(cut.fetch).command(promote, { waitMs: 0 });
		expect(out.result).toBe("failed");
		expect(out.detail).toContain("interrupted by an agent restart");
		expect(out.detail).toContain("wait-ready");
	});

	it("reports a stale-term answer as rejected, without retrying", async () => {
		const agent = fakeAgent(() =>
			json({ error: { code: "stale-term", message: "term 5 is below 7" } }, 409),
		);
		const out = await client(agent.fetch).command(promote, { waitMs: 0 });
		expect(out).toMatchObject({ result: "rejected", detail: "409 stale-term: term 5 is below 7" });
		expect(agent.seen).toHaveLength(1);
	});

	it("retries a 503 with the same op id and succeeds", async () => {
		const agent = fakeAgent((_s, n) =>
			n === 1 ? json({ error: { code: "internal", message: "busy" } }, 503) : json(op()),
		);
		const out = await client(agent.fetch).command(promote, { waitMs: 0 });
		expect(out.result).toBe("succeeded");
		expect(agent.seen.map((s) => JSON.parse(s.body).opId)).toEqual([promote.opId, promote.opId]);
	});

	it("gives up on an agent that never answers: unreachable within the deadline", async () => {
		const hang = (async (_i: RequestInfo | URL, init?: RequestInit) =>
			new Promise<Response>((_, reject) => {
				if (init?.signal?.aborted) reject(init.signal.reason);
				init?.signal?.addEventListener("abort", () => reject(init.signal?.reason));
			})) as typeof fetch;
		const c = createSignedAgentClient({
			standbyUrl: "https://standby.example.test",
			privateKey: keys.privateKey,
			fetch: hang,
			timeoutMs: 30,
			sleep: async () => {},
		});
		const out = await c.command(promote, { waitMs: 0 });
		expect(out).toMatchObject({ result: "unreachable", detail: "no answer within 30 ms" });
	});

	it("stops retrying once the caller's deadline has passed", async () => {
		const agent = fakeAgent(() => {
			throw new TypeError("refused");
		});
		const ctl = new AbortController();
		ctl.abort();
		const out = await client(agent.fetch).command(promote, { waitMs: 0, signal: ctl.signal });
		expect(out.result).toBe("unreachable");
		expect(agent.seen).toHaveLength(0);
	});

	it("sends sync to the primary's agent, and says so when none is configured", async () => {
		const sync: Command = { action: "sync", target: "primary", term: 5, opId: "home:sync:t5:a1" };
		const none = fakeAgent(() => json(op()));
		expect(await client(none.fetch).command(sync, { waitMs: 0 })).toMatchObject({
			result: "unsupported",
			detail: "no primary agent URL configured",
		});
		const agent = fakeAgent(() => json(op({ opId: sync.opId, action: "sync" })));
		await client(agent.fetch, { primaryUrl: "https://primary.example.test" }).command(sync, {
			waitMs: 0,
		});
		expect(agent.seen[0]?.url).toBe("https://primary.example.test/v1/sync");
	});
});

describe("agents' reports on their own gateway (status.local, maintenanceUntil)", () => {
	const local = {
		state: "starting" as const,
		failing: ["startup-sidecars"],
		uptimeMs: 10_500,
		status: 503,
		detail: "HTTP 503, starting: startup-sidecars, up 10.5 s",
		checkedAt: 9_000,
	};
	const primaryUrl = "https://primary-agent.example.test";

	it("maps the standby's local report, aged on the agent's own clock", async () => {
		const agent = fakeAgent(() => json(status({ now: 10_200, local, maintenanceUntil: 99_000 })));
		const view = await client(agent.fetch).status();
		expect(view).toMatchObject({
			reachable: true,
			gateway: {
				state: "starting",
				failing: ["startup-sidecars"],
				uptimeMs: 10_500,
				detail: local.detail,
				ageMs: 1_200,
			},
			maintenanceUntil: 99_000,
		});
	});

	it("an old agent without the fields leaves them out; a new one before its first check says null", async () => {
		const old = await client(fakeAgent(() => json(status())).fetch).status();
		expect(old).not.toHaveProperty("gateway");
		expect(old).not.toHaveProperty("maintenanceUntil");
		const fresh = await client(
			fakeAgent(() => json(status({ local: null, maintenanceUntil: null }))).fetch,
		).status();
		expect(fresh).toMatchObject({ reachable: true, gateway: null, maintenanceUntil: null });
	});

	it("reads the primary's agent, signed, at its own URL", async () => {
		const agent = fakeAgent(() =>
			json(status({ role: "primary", term: 7, now: 9_000, local, maintenanceUntil: null })),
		);
		const view = await client(agent.fetch, { primaryUrl }).primaryStatus();
		expect(agent.seen[0]?.verified).toBe(true);
		expect(agent.seen[0]?.url).toBe(`${primaryUrl}/v1/status`);
		expect(view).toEqual({
			reachable: true,
			term: 7,
			gateway: {
				state: "starting",
				failing: ["startup-sidecars"],
				uptimeMs: 10_500,
				detail: local.detail,
				ageMs: 0,
			},
			maintenanceUntil: null,
		});
	});

	it("a report from the agent's future (checkedAt after now) is age 0, never negative", async () => {
		const agent = fakeAgent(() => json(status({ now: 8_000, local })));
		const view = await client(agent.fetch, { primaryUrl }).primaryStatus();
		expect(view).toMatchObject({ reachable: true, gateway: { ageMs: 0 } });
	});

	it("without a primary agent URL there is nothing to ask", async () => {
		const agent = fakeAgent(() => json(status()));
		expect(await client(agent.fetch).primaryStatus()).toBeUndefined();
		expect(agent.seen).toHaveLength(0);
	});

	it("an old primary agent (no local field) is reachable with gateway null", async () => {
		const agent = fakeAgent(() => json(status({ role: "primary" })));
		expect(await client(agent.fetch, { primaryUrl }).primaryStatus()).toEqual({
			reachable: true,
			term: 4,
			gateway: null,
			maintenanceUntil: null,
		});
	});

	it("an unreachable primary agent is a value with the reason", async () => {
		const agent = fakeAgent(() => {
			throw new TypeError("connection refused");
		});
		expect(await client(agent.fetch, { primaryUrl }).primaryStatus()).toEqual({
			reachable: false,
			reason: "connect error: connection refused",
		});
		expect(agent.seen).toHaveLength(3); // retried like the standby's status
	});

	it.each([
		["not protocol v1", { hello: "world" }],
		["a local state outside the enum", { ...status(), local: { ...local, state: "rebooting" } }],
		["a failing list that is not strings", { ...status(), local: { ...local, failing: [1] } }],
		["a detail over 256 characters", { ...status(), local: { ...local, detail: "x".repeat(300) } }],
		["a maintenanceUntil that is text", { ...status(), maintenanceUntil: "tomorrow" }],
	])("a malformed primary status (%s) is unreachable, not a guess", async (_name, body) => {
		const agent = fakeAgent(() => json(body));
		expect(await client(agent.fetch, { primaryUrl }).primaryStatus()).toEqual({
			reachable: false,
			reason: "agent status did not match protocol v1",
		});
	});

	it("an agent rejecting the signature is unreachable with its reason", async () => {
		const agent = fakeAgent(() =>
			json({ error: { code: "bad-signature", message: "no match" } }, 401),
		);
		expect(await client(agent.fetch, { primaryUrl }).primaryStatus()).toEqual({
			reachable: false,
			reason: "agent answered 401 bad-signature: no match",
		});
	});
});
