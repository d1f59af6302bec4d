// A configuration that cannot work is a config error (issue 9 §7, issue 12 §8): URLs a deployed Worker cannot fetch, and the new judge fields.
import { describe, expect, it } from "vitest";
import { parseWatchConfig } from "../../worker/src/config";
import { loadConfig } from "../../worker/src/config-cache";

/** Any well-formed agent key: these tests are about URLs. */
const KEY = "ed25519:11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";

const pair = (
	primary: Record<string, unknown>,
	standbyUrl = "https://standby.example.test:8443",
) => ({
	pairs: [{ name: "home", primary, standby: { agentUrl: standbyUrl, agentPublicKey: KEY } }],
});

describe("URLs a deployed Worker cannot fetch", () => {
	it.each([
		["a bare public IP", "https://203.0.113.7/readyz", /bare IP address/],
		["a tailnet (100.64/10) address", "https://100.101.102.103/readyz", /private-range/],
		["a LAN address", "https://192.168.1.20/readyz", /private-range/],
		["a link-local address", "https://169.254.1.1/readyz", /link-local/],
		["loopback", "https://127.0.0.1:18789/readyz", /loopback/],
		["localhost", "https://localhost/readyz", /loopback/],
		["plain http", "http://primary.example.test/readyz", /plain http/],
		["a single-label name", "https://primary/readyz", /single-label/],
	])("primary.readyUrl as %s is a config error naming the field", (_n, url, why) => {
		const c = parseWatchConfig(pair({ readyUrl: url }));
		expect(c.pairs.size).toBe(0);
		expect(c.errors).toEqual([
			{ path: "pairs[0].primary.readyUrl", message: expect.stringMatching(why) },
		]);
	});

	it("checks primary.agentUrl and standby.agentUrl too", () => {
		const c = parseWatchConfig(
			pair(
				{
					readyUrl: "https://p.example.test/readyz",
					agentUrl: "http://10.0.0.2:8443",
					agentPublicKey: KEY,
				},
				"https://[::1]:8443",
			),
		);
		expect(c.errors.map((e) => e.path)).toEqual([
			"pairs[0].primary.agentUrl",
			"pairs[0].standby.agentUrl",
		]);
	});

	it("loopback and plain http are accepted in local development only", () => {
		const local = pair({ readyUrl: "http://127.0.0.1:9001/readyz" }, "http://127.0.0.1:9002");
		expect(parseWatchConfig(local, { localDevelopment: true }).errors).toEqual([]);
		expect(parseWatchConfig(local).errors).toHaveLength(2);
		expect(loadConfig(JSON.stringify(local), "1").pairErrors.size).toBe(0);
		expect(loadConfig(JSON.stringify(local), undefined).pairErrors.get("home")).toHaveLength(2);
		expect(loadConfig(JSON.stringify(local), "0").pairErrors.get("home")).toHaveLength(2);
	});

	it("a Funnel hostname over https is fine", () => {
		const c = parseWatchConfig(pair({ readyUrl: "https://primary.tail1234.ts.net/readyz" }));
		expect(c.errors).toEqual([]);
	});
});

describe("the judge's fields", () => {
	const ok = pair({ readyUrl: "https://p.example.test/readyz" });
	it("defaults: recoverSeconds 120, startGraceSeconds 180, the OpenClaw body check", () => {
		expect(parseWatchConfig(ok).pairs.get("home")).toMatchObject({
			recoverSeconds: 120,
			startGraceSeconds: 180,
			primary: { expectBody: '"ready":true' },
		});
	});
	it("an empty expectBody turns the body check off", () => {
		const c = parseWatchConfig(pair({ readyUrl: "https://p.example.test/readyz", expectBody: "" }));
		expect(c.pairs.get("home")?.primary.expectBody).toBe("");
	});
	it.each([
		["startGraceSeconds", 601],
		["startGraceSeconds", -1],
		["recoverSeconds", 86_401],
	])("%s %i is refused", (field, value) => {
		const c = parseWatchConfig({ pairs: [{ ...ok.pairs[0], [field]: value }] });
		expect(c.errors.map((e) => e.path)).toEqual([`pairs[0].${field}`]);
	});
});
