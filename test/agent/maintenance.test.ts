// `failover-agent maintenance`: durations, the window file the running agent reads, and status's maintenanceUntil.
import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../../agent/src/cli";
import { maintenanceCommand } from "../../agent/src/commands/maintenance";
import { MAINTENANCE_FILE, MAX_MAINTENANCE_MS, parseDuration } from "../../agent/src/maintenance";
import { StatusResponseSchema } from "../../protocol";
import { startTestAgent, tempDir } from "./helpers";

function io() {
	const captured = { out: "", err: "" };
	return {
		captured,
		io: {
			out: (t: string) => void (captured.out += t),
			err: (t: string) => void (captured.err += t),
		},
	};
}

describe("parseDuration", () => {
	it.each([
		["90s", 90_000],
		["10m", 600_000],
		["2h", 7_200_000],
		["1h30m", 5_400_000],
		["1h1m1s", 3_661_000],
		[" 10M ", 600_000],
		["24h", MAX_MAINTENANCE_MS],
	])("%s -> %i ms", (text, ms) => {
		expect(parseDuration(text)).toEqual({ ok: true, ms });
	});

	it.each([
		["", /invalid duration/],
		["10", /invalid duration/],
		["10 m", /invalid duration/],
		["-5m", /invalid duration/],
		["1.5h", /invalid duration/],
		["10d", /invalid duration/],
		["m", /invalid duration/],
		["5m5m", /each unit once/],
		["0s", /is zero/],
		["0h0m", /is zero/],
		["25h", /longer than 24h/],
		["24h1s", /longer than 24h/],
		["999999h", /longer than 24h/],
	])("refuses %j", (text, message) => {
		const parsed = parseDuration(text);
		expect(parsed.ok).toBe(false);
		if (!parsed.ok) expect(parsed.message).toMatch(message);
	});
});

describe("failover-agent maintenance", () => {
	it("--for writes the window atomically into stateDir, readable by the agent's user", async () => {
		const dir = await tempDir();
		const c = io();
		const code = await maintenanceCommand(
			["--for", "10m", "--state-dir", dir],
			c.io,
			() => 1_000_000,
		);
		expect(code).toBe(0);
		expect(c.captured.out).toContain("maintenance until 1970-01-01T00:26:40.000Z (10m)");
		const file = join(dir, MAINTENANCE_FILE);
		expect(JSON.parse(await readFile(file, "utf8"))).toEqual({
			format: 1,
			until: 1_600_000,
			setAt: 1_000_000,
		});
		expect((await stat(file)).mode & 0o777).toBe(0o644);
		const shown = io();
		await maintenanceCommand(["--state-dir", dir], shown.io, () => 2_000);
		expect(shown.captured.out).toContain("maintenance until");
	});

	it("--end removes it; ending twice is fine", async () => {
		const dir = await tempDir();
		await maintenanceCommand(["--for", "1h", "--state-dir", dir], io().io);
		for (let i = 0; i < 2; i++) {
			const c = io();
			expect(await maintenanceCommand(["--end", "--state-dir", dir], c.io)).toBe(0);
			expect(c.captured.out).toContain("maintenance window ended");
		}
		await expect(stat(join(dir, MAINTENANCE_FILE))).rejects.toThrow();
	});

	it("refuses a bad duration, both options, or no way to find stateDir, with a clear message", async () => {
		const dir = await tempDir();
		for (const [args, message] of [
			[["--for", "ten minutes", "--state-dir", dir], /invalid duration "ten minutes"/],
			[["--for", "48h", "--state-dir", dir], /longer than 24h/],
			[["--for", "10m", "--end", "--state-dir", dir], /either --for DURATION or --end/],
			[["--for"], /argument missing|--for/],
		] as const) {
			const c = io();
			expect(await maintenanceCommand([...args], c.io)).toBe(2);
			expect(c.captured.err).toMatch(message);
		}
		const c = io();
		expect(
			await maintenanceCommand(["--for", "5m", "--config", join(dir, "missing.json")], c.io),
		).toBe(1);
		expect(c.captured.err).toMatch(/no such file[\s\S]*--state-dir/);
	});

	it("reads stateDir from the agent's config and is listed by the main help", async () => {
		const dir = await tempDir();
		const t = await startTestAgent({ stateDir: join(dir, "state") });
		const config = join(dir, "agent.json");
		await writeFile(
			config,
			JSON.stringify({
				role: "standby",
				pair: t.config.pair,
				agentKeyFile: t.config.agentKeyFile,
				watchdogPublicKeys: [t.config.watchdogPublicKeys[0]],
				workspace: "/nonexistent",
				gatewayUnit: { name: "openclaw-gateway.service" },
				stateDir: "state",
			}),
		);
		const c = io();
		expect(await maintenanceCommand(["--for", "90s", "--config", config], c.io)).toBe(0);
		expect(c.captured.out).toContain(join(dir, "state", MAINTENANCE_FILE));
		let help = "";
		await runCli(["--help"], { out: (s) => void (help += s), err: () => {} });
		expect(help).toContain("failover-agent maintenance --for 10m | --end");
	});
});

describe("status reports the window", () => {
	it("maintenanceUntil while it lasts, null before, after it ends and after --end", async () => {
		let now = 5_000_000;
		const t = await startTestAgent({ now: () => now });
		const status = async () =>
			StatusResponseSchema.parse(await (await t.send("GET", "/v1/status")).json()).maintenanceUntil;
		expect(await status()).toBeNull();
		await maintenanceCommand(["--for", "10m", "--state-dir", t.stateDir], io().io, () => now);
		expect(await status()).toBe(now + 600_000);
		now += 600_000;
		expect(await status()).toBeNull(); // over: the window ends by itself
		await maintenanceCommand(["--for", "1m", "--state-dir", t.stateDir], io().io, () => now);
		expect(await status()).toBe(now + 60_000);
		await maintenanceCommand(["--end", "--state-dir", t.stateDir], io().io);
		expect(await status()).toBeNull();
	});

	it("a damaged window file is ignored (the pair keeps its failover), not an error", async () => {
		const t = await startTestAgent();
		await writeFile(join(t.stateDir, MAINTENANCE_FILE), "{not json");
		const res = await t.send("GET", "/v1/status");
		expect(res.status).toBe(200);
		expect(StatusResponseSchema.parse(await res.json()).maintenanceUntil).toBeNull();
	});
});
