// Finding 4 of issue 12: public (tokenless) views carry no URLs, addresses, hostnames or paths, whatever
// text reaches a summary: an agent's 502 report naming its URL, a DNS error naming a host, a redirect.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { generateKeyPair } from "../../protocol";
import { agentClientsFor } from "../../worker/src/agent-client";
import { app } from "../../worker/src/api";
import { publicView, scrubText } from "../../worker/src/public-view";
import { summaryMemo } from "../../worker/src/read-memo";
import type { Watchdog } from "../../worker/src/watchdog";
import { dropAlarm, TestClock, testEnv, useClock, watchdog } from "./support/watchdog-harness";

const TOKEN = testEnv.ADMIN_TOKEN as string;

beforeEach(() => summaryMemo.clear());
afterAll(async () => {
	await dropAlarm(watchdog("g-public-scrub"));
});

describe("scrubText", () => {
	// [input, what must be gone]
	const leaks: [string, string[]][] = [
		[
			"HTTP 502 without an agent error body (is https://standby.example.ts.net:8443 the failover-agent?)",
			["standby.example.ts.net", "8443", "https://"],
		],
		[
			"is http://127.0.0.1:39211/standby-api the failover-agent?",
			["127.0.0.1", "39211", "standby-api"],
		],
		[
			"connect error: getaddrinfo ENOTFOUND primary.internal.example.com",
			["primary.internal.example.com"],
		],
		["connect ECONNREFUSED 10.0.0.5:443", ["10.0.0.5"]],
		["connect ECONNREFUSED [fd7a:115c:a1e0::1]:8443", ["fd7a", "a1e0"]],
		["refused by fd7a:115c:a1e0::53 today", ["fd7a", "a1e0"]],
		["refused by 2001:0db8:0000:0000:0000:ff00:0042:8329", ["2001:0db8", "8329"]],
		[
			"expected HTTP 200, got 302 (redirect to https://login.example.com/sso?next=/readyz)",
			["login.example.com", "sso", "readyz"],
		],
		[
			"step git-pull failed: could not read /srv/openclaw/workspace/.git/config",
			["/srv", "openclaw", ".git"],
		],
		["git push git@github.com:acme/workspace.git rejected", ["github.com", "acme"]],
		["open ~/.openclaw/agent.json failed", [".openclaw", "agent.json"]],
		["wrote C:\\Users\\op\\key.pem", ["Users", "key.pem"]],
		["localhost:18789 refused", ["localhost", "18789"]],
		["Fetch API cannot load: ws://gateway.lan/socket", ["gateway.lan", "socket"]],
	];
	it.each(leaks)("%s", (input, gone) => {
		const out = scrubText(input);
		for (const g of gone) expect(out, out).not.toContain(g);
	});

	// Text a reader needs stays as it was.
	const keep = [
		"standby sees the primary down: timeout (3 failed in a row, 1.5 s ago)",
		"probe failed: HTTP 503 (2 failed in a row)",
		"primary ready 4/6",
		"last tick 14:03:22 UTC, term 3, v2.0",
		"no answer within 2500 ms",
		"standby agent unreachable: HTTP 502",
	];
	it.each(keep)("keeps %s", (text) => {
		expect(scrubText(text)).toBe(text);
	});

	it("publicView scrubs every nested string but identifiers (names, states, config paths)", () => {
		const v = publicView({
			name: "home",
			state: "standby-active",
			configErrors: [
				{ path: "pairs[0].standby.agentUrl", message: "http://10.0.0.9 is a private address" },
			],
			lastObservation: { detail: "getaddrinfo ENOTFOUND primary.example.ts.net", ms: 3 },
			problems: ["witness https://agent.example.net silent"],
		});
		expect(v.name).toBe("home");
		expect(v.configErrors[0]?.path).toBe("pairs[0].standby.agentUrl");
		expect(JSON.stringify(v)).not.toMatch(/10\.0\.0\.9|example\.ts\.net|agent\.example\.net/);
		expect(v.lastObservation.ms).toBe(3);
	});
});

describe("public summary of a pair whose agent answers 502 naming its URL", () => {
	it("shows the standby's status line without the agent's URL, host or path; the admin view keeps them", async () => {
		const keys = await generateKeyPair();
		const stub = watchdog("g-public-scrub");
		const clock = new TestClock();
		await stub.ensureAlarm("g-public-scrub", clock.now);
		await useClock(stub, clock);
		await runInDurableObject(stub, (i: Watchdog) => {
			// The real signed client; its endpoint (a tunnel in front of a dead agent) answers 502 with its URL.
			i.deps.agents = agentClientsFor(
				{ WATCHDOG_PRIVATE_KEY: keys.privateKeyText },
				async (input) => {
					return new Response(
						`502 Bad Gateway: upstream ${String(input)} (agent.internal.example.com) refused`,
						{
							status: 502,
						},
					);
				},
			);
			// The probe's own error names the primary's host.
			i.deps.fetch = async () => {
				throw new TypeError("getaddrinfo ENOTFOUND primary.internal.example.com");
			};
		});
		expect(await runDurableObjectAlarm(stub)).toBe(true);

		const agentUrl = `${testEnv.REFUSED_BASE}/standby-public-scrub`;
		const host = new URL(agentUrl).host;
		const anon = [
			await (await app.request("/api/v1/pairs", {}, env)).text(),
			await (await app.request("/", {}, env)).text(),
			await (await app.request("/?part=content", {}, env)).text(),
			await (await app.request("/healthz", {}, env)).text(),
		];
		for (const body of anon) {
			expect(body).not.toContain(host);
			expect(body).not.toContain("standby-public-scrub");
			expect(body).not.toContain("primary.internal.example.com");
			expect(body).not.toContain("agent.internal.example.com");
		}
		const summary = JSON.parse(anon[0] as string) as {
			pairs: { name: string; lastObservation: { standby: string; detail: string } }[];
		};
		const mine = summary.pairs.find((p) => p.name === "public-scrub");
		expect(mine?.lastObservation.standby).toMatch(/^standby agent unreachable: .*HTTP 502/);
		expect(mine?.lastObservation.standby).toContain("[url]");
		expect(mine?.lastObservation.detail).toContain("[host]");

		// The operator, with the token, sees where it went.
		const admin = await (
			await app.request("/api/v1/pairs", { headers: { authorization: `Bearer ${TOKEN}` } }, env)
		).text();
		expect(admin).toContain(host);
		expect(admin).toContain("primary.internal.example.com");
	});
});
