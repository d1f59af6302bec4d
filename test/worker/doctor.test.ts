// GET /api/v1/doctor: admin only; each pair's verdict says whether a failover would work, and each fault names its fix.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import {
	agentFingerprint,
	generateKeyPair,
	importPublicKey,
	importSigningKey,
	PROTOCOL_VERSION,
	type Role,
	type StatusResponse,
	signAnswer,
	verifyRequest,
} from "../../protocol";
import { agentClientsFor, noAgentClient } from "../../worker/src/agent-client";
import { app } from "../../worker/src/api";
import type { DoctorReport } from "../../worker/src/doctor-report";
import type { Watchdog } from "../../worker/src/watchdog";
import type { DoctorKeys } from "./setup/watchdog-config";
import { setGateway, testEnv, watchdog } from "./support/watchdog-harness";

const TOKEN = testEnv.ADMIN_TOKEN as string;
const auth = { authorization: `Bearer ${TOKEN}` };
const GROUP = "g-doctor-a";
const PAIR = "doctor-a";
/** Made per run by the worker tests' setup: doctor-a's config names the two agents' public halves. */
const KEYS = JSON.parse((env as unknown as { DOCTOR_KEYS: string }).DOCTOR_KEYS) as DoctorKeys;

type Signer = { privateKey: CryptoKey; publicKeyText: string };
let agentKeys: Record<Role, Signer>;
let otherAgentKey: Signer;
let watchdogPublic: CryptoKey;
let otherWatchdogPublic: CryptoKey;
beforeAll(async () => {
	const [standby, primary, watchdogKey, other, otherWatchdog] = await Promise.all([
		importSigningKey(KEYS.standby),
		importSigningKey(KEYS.primary),
		importSigningKey(KEYS.watchdog),
		generateKeyPair(),
		generateKeyPair(),
	]);
	agentKeys = { standby, primary };
	otherAgentKey = other;
	watchdogPublic = await importPublicKey(watchdogKey.publicKeyText);
	otherWatchdogPublic = otherWatchdog.publicKey;
});

/**
 * What is wrong with one fake agent (none: it answers like a real protocol v2 agent).
 * down: nothing listens; untrusted-watchdog: its watchdogPublicKeys lack the Worker's key; other-key: it
 * holds another agent key than the Worker's config names; forged-answer: something answers for it, signed
 * with another key; v1: a protocol v1 agent (it cannot check a v2 signature); other-version: it signs a
 * status of another protocol version; clock-off: its clock is 10 minutes ahead.
 */
type Fault =
	| "none"
	| "down"
	| "untrusted-watchdog"
	| "other-key"
	| "forged-answer"
	| "v1"
	| "other-version"
	| "clock-off";

interface FakeAgent {
	fault: Fault;
	peer: StatusResponse["peer"];
}

const seesPrimary: StatusResponse["peer"] = {
	ok: true,
	latencyMs: 3,
	consecutiveFailures: 0,
	consecutiveSuccesses: 5,
	checkedAt: 1,
	ageMs: 800,
};

const good = (): Record<Role, FakeAgent> => ({
	standby: { fault: "none", peer: seesPrimary },
	primary: { fault: "none", peer: null },
});
let agents = good();

const json = (body: unknown, status = 200) =>
	new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

/**
 * doctor-a's two agents behind the Worker's fetch, doing what the real agent's authenticate() does:
 * a request it cannot authenticate is refused unsigned; every other answer is signed with its own key.
 */
const fakeAgents = (async (input: RequestInfo | URL, init?: RequestInit) => {
	const req = new Request(input, init);
	const url = new URL(req.url);
	const side: Role = url.pathname.startsWith(`/primary-${PAIR}/`) ? "primary" : "standby";
	const path = url.pathname.slice(url.pathname.indexOf("/v1/"));
	const agent = agents[side];
	if (agent.fault === "down") throw new TypeError("connect error: connection refused");
	if (agent.fault === "v1") {
		return json({ error: { code: "bad-signature", message: "signature does not match" } }, 401);
	}
	const own = agent.fault === "other-key" ? otherAgentKey : agentKeys[side];
	const audience = { pair: PAIR, side, agent: await agentFingerprint(own.publicKeyText) };
	const v = await verifyRequest({
		method: req.method,
		path,
		headers: req.headers,
		body: await req.text(),
		publicKeys: [agent.fault === "untrusted-watchdog" ? otherWatchdogPublic : watchdogPublic],
		audience,
		now: Date.now() + (agent.fault === "clock-off" ? 600_000 : 0),
	});
	if (!v.ok) {
		const status = v.code === "wrong-audience" ? 403 : v.code === "malformed-headers" ? 400 : 401;
		return json({ error: { code: v.code, message: v.message } }, status);
	}
	const status: StatusResponse = {
		version: (agent.fault === "other-version" ? 1 : PROTOCOL_VERSION) as typeof PROTOCOL_VERSION,
		role: side,
		term: 1,
		gatewayActive: side === "primary",
		lastOperation: null,
		peer: agent.peer,
		now: Date.now(),
		local: null,
		maintenanceUntil: null,
	};
	const bytes = new TextEncoder().encode(JSON.stringify(status));
	const signer = agent.fault === "forged-answer" ? otherAgentKey : own;
	const headers = new Headers({ "content-type": "application/json" });
	const signed = await signAnswer({
		method: req.method,
		path,
		nonce: v.nonce,
		audience,
		status: 200,
		body: bytes,
		privateKey: signer.privateKey,
	});
	for (const [k, val] of Object.entries(signed)) headers.set(k, val);
	return new Response(bytes, { status: 200, headers });
}) as typeof fetch;

/** The Worker's real signed client (with the test's watchdog key) talking to doctor-a's fake agents. */
async function useAgents(
	faults: { standby?: Partial<FakeAgent>; primary?: Partial<FakeAgent> } | "no-key" = {},
) {
	const base = good();
	agents =
		faults === "no-key"
			? base
			: {
					standby: { ...base.standby, ...faults.standby },
					primary: { ...base.primary, ...faults.primary },
				};
	await runInDurableObject(watchdog(GROUP), (i: Watchdog) => {
		i.deps.agents =
			faults === "no-key"
				? () => noAgentClient
				: agentClientsFor({ WATCHDOG_PRIVATE_KEY: KEYS.watchdog }, fakeAgents);
	});
}

async function doctor(query = "?pair=doctor-a"): Promise<{ status: number; body: DoctorReport }> {
	const res = await app.request(`/api/v1/doctor${query}`, { headers: auth }, env);
	return { status: res.status, body: (await res.json()) as DoctorReport };
}

const failed = (r: DoctorReport) =>
	r.pairs.flatMap((p) => p.checks.filter((c) => !c.ok).map((c) => c.name));
const fixOf = (r: DoctorReport, name: string) =>
	r.pairs.flatMap((p) => p.checks).find((c) => c.name === name)?.fix ?? "";

afterEach(async () => {
	await setGateway(PAIR, "up");
});

describe("GET /api/v1/doctor", () => {
	it("needs the admin token", async () => {
		expect((await app.request("/api/v1/doctor", {}, env)).status).toBe(401);
	});

	it("says a failover would work when the probe, both agents and the standby witness are good", async () => {
		await setGateway(PAIR, "up");
		await useAgents();
		const { status, body } = await doctor();
		expect(status).toBe(200);
		expect(failed(body)).toEqual([]);
		expect(body.ok).toBe(true);
		expect(body.pairs.map((p) => p.pair)).toEqual(["doctor-a"]);
		const agentChecks = body.pairs[0]?.checks.filter((c) => c.name.endsWith(" agent"));
		expect(agentChecks?.map((c) => c.detail)).toEqual([
			expect.stringMatching(/status signed by standby\.agentPublicKey \(protocol v2, term 1\)/),
			expect.stringMatching(/status signed by primary\.agentPublicKey \(protocol v2, term 1\)/),
		]);
	});

	// Each row breaks one thing and expects exactly that check to fail, with its fix.
	const cases: [string, () => Promise<void>, string[], RegExp][] = [
		[
			"a readiness URL answering HTML",
			async () => {
				await setGateway(PAIR, "wrong-body");
				await useAgents();
			},
			["probe"],
			/readyUrl must be OpenClaw's \/readyz/,
		],
		[
			"a primary that is not ready",
			async () => {
				await setGateway(PAIR, "not-ready");
				await useAgents();
			},
			["probe"],
			/curl -si .*doctor-a\/readyz/,
		],
		[
			"a standby agent that does not trust the Worker's key",
			() => useAgents({ standby: { fault: "untrusted-watchdog" } }),
			["standby agent", "standby witness"],
			/watchdogPublicKeys must hold the public half of WATCHDOG_PRIVATE_KEY/,
		],
		[
			"a standby agent holding another agent key",
			() => useAgents({ standby: { fault: "other-key" } }),
			["standby agent", "standby witness"],
			/failover-agent keygen --agent .* into standby\.agentPublicKey/,
		],
		[
			"a primary agent holding another agent key",
			() => useAgents({ primary: { fault: "other-key" } }),
			["primary agent"],
			/failover-agent keygen --agent .* into primary\.agentPublicKey/,
		],
		[
			"a primary agent's answer signed with another key",
			() => useAgents({ primary: { fault: "forged-answer" } }),
			["primary agent"],
			/holds another key than primary\.agentPublicKey/,
		],
		[
			"a protocol v1 standby agent",
			() => useAgents({ standby: { fault: "v1" } }),
			["standby agent", "standby witness"],
			/update the agent to protocol v2: npm run build:agent/,
		],
		[
			"a primary agent signing another protocol version's status",
			() => useAgents({ primary: { fault: "other-version" } }),
			["primary agent"],
			/update the agent to protocol v2: npm run build:agent/,
		],
		[
			"a standby agent whose clock is off",
			() => useAgents({ standby: { fault: "clock-off" } }),
			["standby agent", "standby witness"],
			/timedatectl set-ntp true/,
		],
		[
			"an unreachable primary agent",
			() => useAgents({ primary: { fault: "down" } }),
			["primary agent"],
			/curl -s .*primary-doctor-a\/healthz/,
		],
		[
			"a standby without primaryReadyUrl",
			() => useAgents({ standby: { peer: null } }),
			["standby witness"],
			/add "primaryReadyUrl"/,
		],
		[
			"a standby that cannot see the primary over the tailnet",
			() =>
				useAgents({
					standby: {
						peer: {
							ok: false,
							latencyMs: 0,
							reason: "connect-error",
							consecutiveFailures: 9,
							consecutiveSuccesses: 0,
							checkedAt: 1,
							ageMs: 500,
						},
					},
				}),
			["standby witness"],
			/openclaw config set gateway\.bind tailnet/,
		],
		[
			"no WATCHDOG_PRIVATE_KEY",
			() => useAgents("no-key"),
			["standby agent", "primary agent", "standby witness"],
			/wrangler secret put WATCHDOG_PRIVATE_KEY < local\/watchdog\.key/,
		],
	];
	it.each(cases)("%s: fails that check with its fix", async (_label, breakIt, checks, fix) => {
		await breakIt();
		const { status, body } = await doctor();
		expect(status).toBe(200);
		expect(body.ok).toBe(false);
		expect(failed(body)).toEqual(checks);
		expect(fixOf(body, checks[0] as string)).toMatch(fix);
	});

	it("reports a pair with config errors as not watched, with the field", async () => {
		const { body } = await doctor("?pair=mixed-broken");
		expect(body.ok).toBe(false);
		expect(body.pairs[0]?.checks[0]).toMatchObject({ name: "config", ok: false });
		expect(body.pairs[0]?.checks[0]?.detail).toMatch(/failThreshold/);
	});

	it("a Tailscale witness without API credentials cannot vote, and says which secret to set", async () => {
		const { body } = await doctor("?pair=loop-tailnet-nocreds");
		const checks = body.pairs[0]?.checks ?? [];
		expect(checks.find((c) => c.name === "standby witness")).toMatchObject({ ok: true });
		expect(checks.find((c) => c.name === "tailscale witness")).toMatchObject({
			ok: false,
			fix: expect.stringContaining("npx wrangler secret put TAILSCALE_API_KEY"),
		});
		expect(body.ok).toBe(false);
	});

	it("answers 404 for an unknown pair and 400 for a malformed one", async () => {
		expect((await app.request("/api/v1/doctor?pair=nope", { headers: auth }, env)).status).toBe(
			404,
		);
		expect(
			(await app.request("/api/v1/doctor?pair=Bad%20Name", { headers: auth }, env)).status,
		).toBe(400);
	});

	it("says when no notifier is configured, without failing the verdict for it", async () => {
		await useAgents();
		const { body } = await doctor("?pair=doctor-a&notify=1");
		expect(body.checks.find((c) => c.name === "notifications")).toMatchObject({
			ok: true,
			detail: expect.stringContaining("none configured"),
		});
		expect(body.ok).toBe(true);
	});
});
