// GET /api/v1/doctor: admin only; each pair's verdict says whether a failover would work, and each fault names its fix.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import type { AgentClient } from "../../worker/src/agent-client";
import { app } from "../../worker/src/api";
import type { DoctorReport } from "../../worker/src/doctor-report";
import type { StandbyView } from "../../worker/src/types";
import type { Watchdog } from "../../worker/src/watchdog";
import { setGateway, testEnv, watchdog } from "./support/watchdog-harness";

const TOKEN = testEnv.ADMIN_TOKEN as string;
const auth = { authorization: `Bearer ${TOKEN}` };
const GROUP = "g-doctor-a";

const seesPrimary: StandbyView = {
	reachable: true,
	term: 1,
	gatewayActive: false,
	primary: { ok: true, consecutiveFailures: 0, consecutiveSuccesses: 5, ageMs: 800, latencyMs: 3 },
};

/** Agents answering by URL: the standby's and the primary's views, as the signed client would report them. */
async function useAgents(views: { standby?: StandbyView; primary?: StandbyView } | "no-key") {
	await runInDurableObject(watchdog(GROUP), (i: Watchdog) => {
		i.deps.agents = (pair): AgentClient => ({
			async status() {
				if (views === "no-key") return undefined;
				const which = pair.standby.agentUrl?.includes("/primary-") ? views.primary : views.standby;
				return which ?? { reachable: false, reason: "connect error: refused" };
			},
			async command() {
				throw new Error("doctor must never send a command");
			},
		});
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
	await setGateway("doctor-a", "up");
});

describe("GET /api/v1/doctor", () => {
	it("needs the admin token", async () => {
		expect((await app.request("/api/v1/doctor", {}, env)).status).toBe(401);
	});

	it("says a failover would work when the probe, both agents and the standby witness are good", async () => {
		await setGateway("doctor-a", "up");
		await useAgents({ standby: seesPrimary, primary: { ...seesPrimary, primary: null } });
		const { status, body } = await doctor();
		expect(status).toBe(200);
		expect(failed(body)).toEqual([]);
		expect(body.ok).toBe(true);
		expect(body.pairs.map((p) => p.pair)).toEqual(["doctor-a"]);
	});

	// Each row breaks one thing and expects exactly that check to fail, with its fix.
	const cases: [string, () => Promise<void>, string[], RegExp][] = [
		[
			"a readiness URL answering HTML",
			async () => {
				await setGateway("doctor-a", "wrong-body");
				await useAgents({ standby: seesPrimary, primary: seesPrimary });
			},
			["probe"],
			/readyUrl must be OpenClaw's \/readyz/,
		],
		[
			"a primary that is not ready",
			async () => {
				await setGateway("doctor-a", "not-ready");
				await useAgents({ standby: seesPrimary, primary: seesPrimary });
			},
			["probe"],
			/curl -si .*doctor-a\/readyz/,
		],
		[
			"a standby agent holding another public key",
			() =>
				useAgents({
					standby: { reachable: false, reason: "agent answered 401 unknown-key: no such key" },
					primary: seesPrimary,
				}),
			["standby agent", "standby witness"],
			/watchdogPublicKeys must hold the public half of WATCHDOG_PRIVATE_KEY/,
		],
		[
			"an agent on another protocol version",
			() =>
				useAgents({
					standby: { reachable: false, reason: "agent status did not match protocol v1" },
					primary: seesPrimary,
				}),
			["standby agent", "standby witness"],
			/update the agent: npm run build:agent/,
		],
		[
			"an unreachable primary agent",
			() => useAgents({ standby: seesPrimary }),
			["primary agent"],
			/curl -s .*primary-doctor-a\/healthz/,
		],
		[
			"a standby without primaryReadyUrl",
			() => useAgents({ standby: { ...seesPrimary, primary: null }, primary: seesPrimary }),
			["standby witness"],
			/add "primaryReadyUrl"/,
		],
		[
			"a standby that cannot see the primary over the tailnet",
			() =>
				useAgents({
					standby: {
						...seesPrimary,
						primary: {
							ok: false,
							consecutiveFailures: 9,
							consecutiveSuccesses: 0,
							ageMs: 500,
							latencyMs: 0,
							reason: "connect-error",
						},
					},
					primary: seesPrimary,
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
		await useAgents({ standby: seesPrimary, primary: seesPrimary });
		const { body } = await doctor("?pair=doctor-a&notify=1");
		expect(body.checks.find((c) => c.name === "notifications")).toMatchObject({
			ok: true,
			detail: expect.stringContaining("none configured"),
		});
		expect(body.ok).toBe(true);
	});
});
