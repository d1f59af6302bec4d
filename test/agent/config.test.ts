// Agent config: OpenClaw defaults, and every error naming the field and what was expected.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
	configWarnings,
	DEFAULT_LOCAL_READY_URL,
	DEFAULT_PORT,
	loadConfig,
	parseConfig,
} from "../../agent/src/config";
import { tempDir, watchdogKeys } from "./helpers";

async function minimal() {
	const keys = await watchdogKeys();
	return {
		pair: "home",
		role: "standby",
		agentKeyFile: "/etc/failover-agent/agent.key",
		watchdogPublicKeys: [keys.publicKeyText],
		workspace: "/home/openclaw/.openclaw/workspace",
		gatewayUnit: { name: "openclaw-gateway.service" },
	};
}

function errorsOf(value: unknown): string[] {
	const result = parseConfig(value, "test.json", "/etc/failover-agent");
	if (result.ok) throw new Error("expected the config to be rejected");
	return result.errors;
}

describe("agent config", () => {
	it("fills OpenClaw defaults and freezes the result", async () => {
		const result = parseConfig(await minimal(), "test.json", "/etc/failover-agent");
		if (!result.ok) throw new Error(result.errors.join("; "));
		const c = result.config;
		expect(c.listen).toEqual({ host: "127.0.0.1", port: DEFAULT_PORT });
		expect(DEFAULT_PORT).not.toBe(18789);
		expect(c.localReadyUrl).toBe(DEFAULT_LOCAL_READY_URL);
		expect(c.gatewayUnit.scope).toBe("system");
		expect(c.stateDir).toBe("/var/lib/failover-agent");
		expect(c.peerProbe).toEqual({ intervalMs: 2_000, timeoutMs: 1_500 });
		expect(c.actions.promote.map((s) => s.type)).toEqual([
			"git-sync",
			"systemd-start",
			"wait-ready",
		]);
		expect(c.actions.demote.map((s) => s.type)).toEqual(["systemd-stop", "git-push"]);
		expect(c.actions.sync.map((s) => s.type)).toEqual(["git-sync"]);
		expect(c.replication.enabled).toBe(false);
		expect(c.replication.replicateIntervalSeconds).toBe(30);
		expect(
			Object.isFrozen(c) && Object.isFrozen(c.listen) && Object.isFrozen(c.actions.promote),
		).toBe(true);
	});

	it("resolves relative paths against the config file's folder", async () => {
		const result = parseConfig(
			{ ...(await minimal()), workspace: "ws", stateDir: "./state" },
			"x",
			"/srv/agent",
		);
		expect(result.ok && [result.config.workspace, result.config.stateDir]).toEqual([
			"/srv/agent/ws",
			"/srv/agent/state",
		]);
	});

	const cases: [string, (base: Record<string, unknown>) => unknown, string][] = [
		["not an object", () => [], "(config): expected a JSON object"],
		["unknown top-level field", (b) => ({ ...b, prot: 1 }), '(config): unknown field "prot"'],
		["missing role", ({ role: _, ...b }) => b, 'role: missing, expected "primary" or "standby"'],
		["bad role", (b) => ({ ...b, role: "leader" }), 'role: expected "primary" or "standby"'],
		["missing pair", ({ pair: _, ...b }) => b, "pair: missing, expected the pair's name"],
		[
			"pair not a Worker pair name",
			(b) => ({ ...b, pair: "Home/Standby" }),
			"pair: expected the pair's name as in the Worker's config",
		],
		[
			"missing agent key file",
			({ agentKeyFile: _, ...b }) => b,
			"agentKeyFile: missing, expected the agent's private key file",
		],
		[
			"no keys",
			(b) => ({ ...b, watchdogPublicKeys: [] }),
			"watchdogPublicKeys: expected at least one public key",
		],
		[
			"three keys",
			(b) => ({
				...b,
				watchdogPublicKeys: [...(b.watchdogPublicKeys as string[]), "ed25519:a", "ed25519:b"],
			}),
			"watchdogPublicKeys: expected at most two public keys",
		],
		[
			"malformed key",
			(b) => ({ ...b, watchdogPublicKeys: ["ssh-ed25519 AAAA"] }),
			'watchdogPublicKeys[0]: expected "ed25519:',
		],
		[
			"same key twice",
			(b) => ({
				...b,
				watchdogPublicKeys: [
					...(b.watchdogPublicKeys as string[]),
					...(b.watchdogPublicKeys as string[]),
				],
			}),
			"watchdogPublicKeys: expected two different keys",
		],
		[
			"port out of range",
			(b) => ({ ...b, listen: { port: 70_000 } }),
			"listen.port: expected a TCP port from 0 to 65535",
		],
		[
			"port as string",
			(b) => ({ ...b, listen: { port: "18790" } }),
			"listen.port: expected a TCP port",
		],
		[
			"unknown listen field",
			(b) => ({ ...b, listen: { addr: "x" } }),
			'listen: unknown field "addr"',
		],
		[
			"ftp ready URL",
			(b) => ({ ...b, primaryReadyUrl: "ftp://x/readyz" }),
			"primaryReadyUrl: expected an absolute http(s) URL",
		],
		[
			"relative ready URL",
			(b) => ({ ...b, localReadyUrl: "/readyz" }),
			"localReadyUrl: expected an absolute http(s) URL",
		],
		[
			"missing workspace",
			({ workspace: _, ...b }) => b,
			"workspace: missing, expected the gateway's workspace folder",
		],
		["missing unit", ({ gatewayUnit: _, ...b }) => b, "gatewayUnit: missing, expected an object"],
		[
			"bad unit scope",
			(b) => ({ ...b, gatewayUnit: { name: "g.service", scope: "session" } }),
			'gatewayUnit.scope: expected "system" or "user"',
		],
		[
			"unit starting with -",
			(b) => ({ ...b, gatewayUnit: { name: "--now" } }),
			"gatewayUnit.name: expected a systemd unit name",
		],
		[
			"probe timeout above interval",
			(b) => ({ ...b, peerProbe: { intervalMs: 1000, timeoutMs: 2000 } }),
			"peerProbe: expected timeoutMs <= intervalMs",
		],
		[
			"unknown step type",
			(b) => ({ ...b, actions: { promote: [{ type: "reboot" }] } }),
			'actions.promote[0].type: expected "type" to be one of',
		],
		[
			"steps not an array",
			(b) => ({ ...b, actions: { demote: { type: "git-push" } } }),
			"actions.demote: expected an array of steps",
		],
		[
			"step with a bad timeout",
			(b) => ({ ...b, actions: { sync: [{ type: "git-pull", timeoutMs: 5 }] } }),
			"actions.sync[0].timeoutMs: expected timeoutMs of at least 100 ms",
		],
		[
			"unknown action",
			(b) => ({ ...b, actions: { failback: [] } }),
			'actions: unknown field "failback"',
		],
		[
			"bad log level",
			(b) => ({ ...b, logLevel: "verbose" }),
			"logLevel: expected one of debug, info, warn, error",
		],
	];
	for (const [what, change, expected] of cases) {
		it(`${what} -> "${expected}"`, async () => {
			const errors = errorsOf(change(await minimal()));
			expect(
				errors.some((line) => line.startsWith(expected)),
				errors.join("\n"),
			).toBe(true);
		});
	}

	it("reports every problem at once", async () => {
		expect(
			errorsOf({ ...(await minimal()), role: "x", listen: { port: -1 }, extra: true }).length,
		).toBe(3);
	});

	it("loadConfig names the file for unreadable or non-JSON input", async () => {
		const dir = await tempDir();
		const missing = await loadConfig(join(dir, "nope.json"));
		expect(missing).toEqual({ ok: false, errors: [`${join(dir, "nope.json")}: no such file`] });
		await writeFile(join(dir, "bad.json"), "{ role: standby }");
		const bad = await loadConfig(join(dir, "bad.json"));
		expect(bad.ok === false && bad.errors[0]).toMatch(/bad\.json: not valid JSON/);
	});

	it("warns about a standby without a primary probe, and a primary probing itself", async () => {
		const standby = parseConfig(await minimal(), "x", "/");
		expect(standby.ok && configWarnings(standby.config).join()).toMatch(
			/primaryReadyUrl is not set/,
		);
		const primary = parseConfig(
			{ ...(await minimal()), role: "primary", primaryReadyUrl: "http://p/readyz" },
			"x",
			"/",
		);
		expect(primary.ok && configWarnings(primary.config).join()).toMatch(/probe its own gateway/);
	});
});
