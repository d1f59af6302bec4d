// parseWatchConfig: defaults, per-pair errors naming the field, groups, and the cross-field rules.
import { describe, expect, it } from "vitest";
import { DEFAULT_GROUP, parseWatchConfig } from "../../worker/src/config";

const AGENT_KEY = "ed25519:11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";

const pair = (name: string, over: Record<string, unknown> = {}) => ({
	name,
	primary: { readyUrl: "https://primary.example.test/readyz" },
	standby: { agentUrl: "https://standby.example.test:8443", agentPublicKey: AGENT_KEY },
	...over,
});

describe("parseWatchConfig", () => {
	it("fills the documented defaults", () => {
		const c = parseWatchConfig(JSON.stringify({ pairs: [pair("home")] }));
		expect(c.errors).toEqual([]);
		expect(c.pairs.get("home")).toMatchObject({
			probeIntervalSeconds: 5,
			probeTimeoutMs: 2500,
			failThreshold: 3,
			recoverThreshold: 6,
			maxFailoversPerHour: 3,
			failback: "auto",
			primary: { expectStatus: 200 },
			witnesses: { standby: true, quorum: "all" },
		});
		expect(c.groups.get(DEFAULT_GROUP)).toEqual(["home"]);
		expect(Object.isFrozen(c.pairs.get("home"))).toBe(true);
	});

	it("names the bad field of a bad pair and still loads the good one", () => {
		const c = parseWatchConfig({
			pairs: [pair("good"), pair("bad", { failThreshold: 0, primary: { readyUrl: "ftp://x" } })],
		});
		expect([...c.pairs.keys()]).toEqual(["good"]);
		const paths = c.errors.map((e) => e.path);
		expect(paths).toContain("pairs[1].failThreshold");
		expect(paths).toContain("pairs[1].primary.readyUrl");
		// The bad pair stays visible in its group, so status can show why it is not watched.
		expect(c.groups.get(DEFAULT_GROUP)).toEqual(["good", "bad"]);
	});

	it("rejects unknown fields, so a typo is not silently ignored", () => {
		const c = parseWatchConfig({ pairs: [pair("a", { failTreshold: 5 })] });
		expect(c.errors[0]?.path).toBe("pairs[0]");
		expect(c.errors[0]?.message).toContain("failTreshold");
	});

	it("refuses a probe timeout that would overlap the next tick", () => {
		const c = parseWatchConfig({
			pairs: [pair("a", { probeIntervalSeconds: 2, probeTimeoutMs: 2000 })],
		});
		expect(c.errors).toEqual([
			{
				path: "pairs[0].probeTimeoutMs",
				message: expect.stringContaining("less than probeIntervalSeconds"),
			},
		]);
	});

	it("refuses a numeric quorum larger than the witnesses configured", () => {
		const c = parseWatchConfig({ pairs: [pair("a", { witnesses: { quorum: 2 } })] });
		expect(c.errors[0]).toMatchObject({
			path: "pairs[0].witnesses.quorum",
			message: expect.stringContaining("expected at most 1"),
		});
		const ok = parseWatchConfig({
			pairs: [pair("b", { witnesses: { quorum: 2, tailscale: { deviceId: "n1" } } })],
		});
		expect(ok.errors).toEqual([]);
	});

	it("reports duplicate names, bad JSON and a missing pairs list", () => {
		expect(parseWatchConfig({ pairs: [pair("a"), pair("a")] }).errors).toEqual([
			{ path: "pairs[1].name", message: 'duplicate pair name "a"' },
		]);
		expect(parseWatchConfig("{nope").errors[0]?.message).toMatch(/^expected JSON/);
		expect(parseWatchConfig({}).errors).toEqual([
			{ path: "pairs", message: "expected a non-empty array of pairs" },
		]);
		expect(parseWatchConfig({ pairs: [pair("a")], extra: 1 }).errors[0]?.path).toBe("extra");
	});

	it("spreads pairs over groups; an ungrouped pair lands in the default group", () => {
		const c = parseWatchConfig({
			pairs: [pair("a"), pair("b"), pair("c")],
			groups: [{ name: "eu", pairs: ["a", "b"] }],
		});
		expect(c.errors).toEqual([]);
		expect(c.groups.get("eu")).toEqual(["a", "b"]);
		expect(c.groups.get(DEFAULT_GROUP)).toEqual(["c"]);
		const bad = parseWatchConfig({
			pairs: [pair("a")],
			groups: [
				{ name: "x", pairs: ["a", "zzz"] },
				{ name: "y", pairs: ["a"] },
			],
		});
		expect(bad.errors.map((e) => e.message)).toEqual([
			'unknown pair "zzz"',
			'pair "a" is already in group "x"; a pair belongs to one group',
		]);
	});

	it("needs each agent's public key: the standby's always, the primary's with its agentUrl", () => {
		const noStandbyKey = parseWatchConfig({
			pairs: [pair("a", { standby: { agentUrl: "https://standby.example.test" } })],
		});
		expect(noStandbyKey.errors.map((e) => e.path)).toContain("pairs[0].standby.agentPublicKey");
		const primaryWithoutKey = parseWatchConfig({
			pairs: [
				pair("b", {
					primary: {
						readyUrl: "https://primary.example.test/readyz",
						agentUrl: "https://primary.example.test:8443",
					},
				}),
			],
		});
		expect(primaryWithoutKey.errors).toEqual([
			expect.objectContaining({
				path: "pairs[0].primary.agentPublicKey",
				message: expect.stringContaining("keygen --agent"),
			}),
		]);
		const badKey = parseWatchConfig({
			pairs: [
				pair("c", {
					standby: { agentUrl: "https://s.example.test", agentPublicKey: "ssh-ed25519 AAAA" },
				}),
			],
		});
		expect(badKey.errors[0]).toMatchObject({
			path: "pairs[0].standby.agentPublicKey",
			message: expect.stringContaining('"ed25519:'),
		});
	});
});
