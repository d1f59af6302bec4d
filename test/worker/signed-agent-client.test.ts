// The Worker's signed agent client against a fake agent that verifies requests and signs answers like the real one.
import { beforeAll, describe, expect, it } from "vitest";
import {
	type Audience,
	agentFingerprint,
	generateKeyPair,
	HEADERS,
	MAX_TERM,
	type OperationRecord,
	PROTOCOL_VERSION,
	type Role,
	type StatusResponse,
	signAnswer,
	verifyRequest,
} from "../../protocol";
import { createSignedAgentClient, operationOutcome } from "../../worker/src/signed-agent-client";
import type { Command } from "../../worker/src/types";

type Keys = Awaited<ReturnType<typeof generateKeyPair>>;
/** The watchdog's key, and each side's agent key. */
let keys: Keys;
let standbyKeys: Keys;
let primaryKeys: Keys;
beforeAll(async () => {
	[keys, standbyKeys, primaryKeys] = await Promise.all([
		generateKeyPair(),
		generateKeyPair(),
		generateKeyPair(),
	]);
});

interface Seen {
	url: string;
	method: string;
	body: string;
	nonce: string | null;
	verified: boolean;
	audience: string | null;
}

/**
 * How the fake agent signs its answer: "agent" as the real one does; "none" (a proxy page, an old agent
 * or a man in the middle); "forger" (another key); "replay" (the right key over another request's nonce).
 */
type Signing = "agent" | "none" | "forger" | "replay";

async function audienceFor(side: Role): Promise<Audience> {
	const k = side === "primary" ? primaryKeys : standbyKeys;
	return { pair: "home", side, agent: await agentFingerprint(k.publicKeyText) };
}

/** A fake agent behind an injected fetch: it verifies every signature like the real one, and signs its answer. */
function fakeAgent(
	respond: (seen: Seen, n: number) => Response | Promise<Response>,
	signing: Signing = "agent",
) {
	const seen: Seen[] = [];
	const f = (async (input: RequestInfo | URL, init?: RequestInit) => {
		if (init?.signal?.aborted) throw init.signal.reason;
		const req = new Request(input, init);
		const body = await req.text();
		const url = new URL(req.url);
		const side: Role = url.hostname.startsWith("primary") ? "primary" : "standby";
		const audience = await audienceFor(side);
		const v = await verifyRequest({
			method: req.method,
			path: url.pathname,
			headers: req.headers,
			body,
			publicKeys: [keys.publicKey],
			now: Date.now(),
			audience,
		});
		const s: Seen = {
			url: req.url,
			method: req.method,
			body,
			nonce: req.headers.get(HEADERS.nonce),
			verified: v.ok,
			audience: req.headers.get(HEADERS.audience),
		};
		seen.push(s);
		const res = await respond(s, seen.length);
		if (signing === "none") return res;
		const bytes = new Uint8Array(await res.arrayBuffer());
		const forger = await generateKeyPair();
		const signer = signing === "forger" ? forger : side === "primary" ? primaryKeys : standbyKeys;
		const headers = new Headers(res.headers);
		const signed = await signAnswer({
			method: req.method,
			path: url.pathname,
			nonce: signing === "replay" ? "AAAAAAAAAAAAAAAAAAAAAA" : (s.nonce ?? ""),
			audience,
			status: res.status,
			body: bytes,
			privateKey: signer.privateKey,
		});
		for (const [k, val] of Object.entries(signed)) headers.set(k, val);
		return new Response(bytes, { status: res.status, headers });
	}) as typeof fetch;
	return { fetch: f, seen };
}

const json = (body: unknown, status = 200) =>
	new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

const status = (over: Partial<StatusResponse> = {}): StatusResponse => ({
	version: PROTOCOL_VERSION,
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
		pair: "home",
		standbyUrl: "https://standby.example.test:8443/",
		standbyKey: standbyKeys.publicKeyText,
		...extra,
		...(extra.primaryUrl ? { primaryKey: primaryKeys.publicKeyText } : {}),
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

	it("treats a rejected signature as unreachable, with the agent's (unverified) reason", async () => {
		// The real agent answers a request it could not authenticate without signing (no oracle).
		const agent = fakeAgent(
			() => json({ error: { code: "unknown-key", message: "signed by key id X" } }, 401),
			"none",
		);
		const view = await client(agent.fetch).status();
		expect(view).toMatchObject({ reachable: false });
		const reason = view.reachable ? "" : view.reason;
		expect(reason).toContain("unsigned-answer");
		expect(reason).toContain('(unverified) HTTP 401: {"error":{"code":"unknown-key"');
		expect(agent.seen).toHaveLength(1); // not retried
	});

	it("a signed refusal is the agent's word: reported as it said", async () => {
		const agent = fakeAgent(() =>
			json({ error: { code: "wrong-audience", message: "for another agent" } }, 403),
		);
		expect(await client(agent.fetch).status()).toEqual({
			reachable: false,
			reason: "agent answered 403 wrong-audience: for another agent",
		});
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

	it("rejects a status that is not protocol v2", async () => {
		const agent = fakeAgent(() => json({ hello: "world" }));
		expect(await client(agent.fetch).status()).toEqual({
			reachable: false,
			reason: "standby agent's status refused: it did not match protocol v2",
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
		// Unsigned: a fake that signed would have to read it all first.
		const agent = fakeAgent(() => new Response(endless(), { status: 200 }), "none");
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
			pair: "home",
			standbyUrl: "https://standby.example.test",
			standbyKey: standbyKeys.publicKeyText,
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
			detail: "no primary agent URL and agentPublicKey configured",
		});
		const agent = fakeAgent(() => json(op({ opId: sync.opId, action: "sync" })));
		await client(agent.fetch, { primaryUrl: "https://primary.example.test" }).command(sync, {
			waitMs: 0,
		});
		expect(agent.seen[0]?.url).toBe("https://primary.example.test/v1/sync");
		// Signed for the primary's agent, and verified by it as such.
		expect(agent.seen[0]?.audience).toBe(
			`home/primary/${await agentFingerprint(primaryKeys.publicKeyText)}`,
		);
		expect(agent.seen[0]?.verified).toBe(true);
	});
});

describe("answers that are not the agent's word are never acted on (finding 2)", () => {
	const huge = status({ term: Number.MAX_SAFE_INTEGER });

	it("a status with a huge term, unsigned (a man in the middle on http): unreachable, term not adopted", async () => {
		const agent = fakeAgent(() => json(huge), "none");
		const view = await client(agent.fetch).status();
		expect(view.reachable).toBe(false);
		expect(view.reachable ? "" : view.reason).toMatch(/unsigned-answer/);
		expect(view).not.toHaveProperty("term");
	});

	it("a status signed by another key (forged): unreachable, naming the key mismatch", async () => {
		const agent = fakeAgent(() => json(status({ term: 9 })), "forger");
		const view = await client(agent.fetch).status();
		expect(view.reachable).toBe(false);
		expect(view.reachable ? "" : view.reason).toMatch(/bad-answer-signature/);
	});

	it("a genuine answer replayed for a later request (wrong nonce): unreachable", async () => {
		const agent = fakeAgent(() => json(status({ term: 9 })), "replay");
		const view = await client(agent.fetch).status();
		expect(view.reachable ? "" : view.reason).toMatch(/wrong-nonce/);
	});

	it("a huge term even when correctly signed (a compromised agent): refused, never adopted", async () => {
		for (const term of [MAX_TERM + 1, Number.MAX_SAFE_INTEGER, 2 ** 53, -1, 1.5]) {
			const agent = fakeAgent(() => json(status({ term })));
			const view = await client(agent.fetch).status();
			expect(view.reachable, String(term)).toBe(false);
			expect(view.reachable ? "" : view.reason).toMatch(/status refused/);
		}
		const top = fakeAgent(() => json(status({ term: MAX_TERM })));
		expect(await client(top.fetch).status()).toMatchObject({ reachable: true, term: MAX_TERM });
	});

	it("a forged or unsigned 'succeeded' for a promote is unreachable, not success", async () => {
		for (const signing of ["none", "forger", "replay"] as const) {
			const agent = fakeAgent(() => json(op()), signing);
			const out = await client(agent.fetch).command(promote, { waitMs: 0 });
			expect(out.result, signing).toBe("unreachable");
		}
	});

	it("a signed record of another operation is not this command's outcome", async () => {
		const agent = fakeAgent(() => json(op({ opId: "home:promote:t4:a1", term: 4 })));
		const out = await client(agent.fetch).command(promote, { waitMs: 0 });
		expect(out.result).toBe("unreachable");
	});

	it("never sends a term the agent's schema would reject", async () => {
		const agent = fakeAgent(() => json(op()));
		for (const term of [MAX_TERM + 1, Number.MAX_SAFE_INTEGER, -1]) {
			const out = await client(agent.fetch).command({ ...promote, term }, { waitMs: 0 });
			expect(out).toMatchObject({ result: "rejected" });
			expect(out.detail).toContain("not sent");
		}
		expect(agent.seen).toHaveLength(0);
	});

	it("every request names its agent: the standby's audience on status and promote", async () => {
		const agent = fakeAgent(() => json(status()));
		await client(agent.fetch).status();
		expect(agent.seen[0]?.audience).toBe(
			`home/standby/${await agentFingerprint(standbyKeys.publicKeyText)}`,
		);
		expect(agent.seen[0]?.verified).toBe(true);
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
			reason: "primary agent's status refused: it did not match protocol v2",
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

describe("operationOutcome: a succeeded operation's step warnings", () => {
	const promote: Command = {
		target: "standby",
		action: "promote",
		term: 2,
		opId: "home:promote:t2:a1",
	};
	const op = (steps: OperationRecord["steps"], status: OperationRecord["status"] = "succeeded") =>
		({
			opId: "home:promote:t2:a1",
			action: "promote",
			term: 2,
			status,
			startedAt: 1_000,
			finishedAt: 3_000,
			steps,
		}) as OperationRecord;

	it("collects every step's warnings in order, for decide() to raise one event each", () => {
		const out = operationOutcome(
			promote,
			op([
				{
					step: "git-sync",
					status: "succeeded",
					warnings: [
						{ code: "mass-deletion-held", message: "12 deletions held" },
						{ code: "merge-conflicts", message: "MEMORY.md on failover/standby-x" },
					],
				},
				{ step: "systemd-start", status: "succeeded" },
			]),
		);
		expect(out.result).toBe("succeeded");
		expect(out.warnings?.map((w) => w.code)).toEqual(["mass-deletion-held", "merge-conflicts"]);
	});

	it("an operation without warnings (or from an older agent) has no warnings field", () => {
		const out = operationOutcome(promote, op([{ step: "git-sync", status: "succeeded" }]));
		expect(out).not.toHaveProperty("warnings");
	});

	it("a failed operation's warnings are not reported as a success's", () => {
		const out = operationOutcome(
			promote,
			op(
				[
					{
						step: "git-sync",
						status: "succeeded",
						warnings: [{ code: "merge-conflicts", message: "x" }],
					},
					{ step: "systemd-start", status: "failed", error: "exit 1" },
				],
				"failed",
			),
		);
		expect(out.result).toBe("failed");
		expect(out).not.toHaveProperty("warnings");
	});
});
