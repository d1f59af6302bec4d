// The shipped systemd unit, polkit rule and example config agree with the agent's defaults and work as written.
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { DEFAULT_PORT, DEFAULT_STATE_DIR, parseConfig } from "../../agent/src/config";
import { watchdogKeys } from "./helpers";

const dir = resolve(import.meta.dirname, "../../agent/systemd");

function unitSettings(text: string): Map<string, string[]> {
	const settings = new Map<string, string[]>();
	for (const line of text.split("\n")) {
		const match = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
		if (match?.[1] === undefined) continue;
		settings.set(match[1], [...(settings.get(match[1]) ?? []), match[2] ?? ""]);
	}
	return settings;
}

describe("agent/systemd", () => {
	it("the unit runs `serve --config`, unprivileged and hardened, with the default state dir", async () => {
		const unit = unitSettings(await readFile(resolve(dir, "failover-agent.service"), "utf8"));
		expect(unit.get("ExecStart")?.[0]).toMatch(
			/\/agent\.mjs serve --config \/etc\/failover-agent\/config\.json$/,
		);
		expect(unit.get("User")?.[0]).not.toBe("root");
		expect(`/var/lib/${unit.get("StateDirectory")?.[0]}`).toBe(DEFAULT_STATE_DIR);
		for (const [key, value] of [
			["NoNewPrivileges", "yes"],
			["ProtectSystem", "strict"],
			["PrivateTmp", "yes"],
			["RestrictSUIDSGID", "yes"],
			["CapabilityBoundingSet", ""],
			["KillMode", "mixed"],
		]) {
			expect(unit.get(key ?? ""), key).toEqual([value]);
		}
		expect(unit.get("ReadWritePaths")?.length).toBe(1);
	});

	it("the polkit rule allows start and stop of the gateway unit for the agent user only", async () => {
		const source = await readFile(resolve(dir, "50-failover-agent.rules"), "utf8");
		const rules: ((action: unknown, subject: unknown) => string)[] = [];
		const polkit = {
			addRule: (rule: (a: unknown, s: unknown) => string) => rules.push(rule),
			Result: { YES: "yes", NOT_HANDLED: "not-handled" },
		};
		runInNewContext(source, { polkit });
		expect(rules).toHaveLength(1);
		const rule = rules[0];
		if (rule === undefined) throw new Error("no rule registered");
		const ask = (id: string, user: string, unit: string, verb: string) =>
			rule(
				{
					id,
					lookup: (key: string) => (key === "unit" ? unit : key === "verb" ? verb : undefined),
				},
				{ user },
			);
		const manage = "org.freedesktop.systemd1.manage-units";
		expect(ask(manage, "openclaw", "openclaw-gateway.service", "start")).toBe("yes");
		expect(ask(manage, "openclaw", "openclaw-gateway.service", "stop")).toBe("yes");
		expect(ask(manage, "openclaw", "openclaw-gateway.service", "restart")).toBe("not-handled");
		expect(ask(manage, "openclaw", "sshd.service", "stop")).toBe("not-handled");
		expect(ask(manage, "mallory", "openclaw-gateway.service", "start")).toBe("not-handled");
		expect(
			ask(
				"org.freedesktop.systemd1.manage-unit-files",
				"openclaw",
				"openclaw-gateway.service",
				"start",
			),
		).toBe("not-handled");
	});

	it("the example config is valid once the public key is filled in, and spells out the defaults", async () => {
		const example = JSON.parse(await readFile(resolve(dir, "config.example.json"), "utf8"));
		const keys = await watchdogKeys();
		const parsed = parseConfig(
			{ ...example, watchdogPublicKeys: [keys.publicKeyText] },
			"example",
			"/etc/failover-agent",
		);
		if (!parsed.ok) throw new Error(parsed.errors.join("\n"));
		const {
			watchdogPublicKeys: _k,
			primaryReadyUrl: _p,
			workspace: _w,
			role: _r,
			pair: _pair,
			agentKeyFile: _keyFile,
			...rest
		} = example;
		const defaults = parseConfig(
			{
				pair: "home",
				role: "standby",
				agentKeyFile: "/etc/failover-agent/agent.key",
				watchdogPublicKeys: [keys.publicKeyText],
				workspace: "/w",
				gatewayUnit: example.gatewayUnit,
			},
			"defaults",
			"/",
		);
		if (!defaults.ok) throw new Error(defaults.errors.join("\n"));
		// Every other value in the example is exactly the default: the example documents them.
		for (const key of Object.keys(rest)) {
			expect(parsed.config[key as keyof typeof parsed.config], key).toEqual(
				defaults.config[key as keyof typeof defaults.config],
			);
		}
		expect(parsed.config.listen.port).toBe(DEFAULT_PORT);
	});
});
