// The failover-agent CLI in-process: keygen, check-config, call and usage errors, with their exit codes.
import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../../agent/src/cli";
import { silentLogger } from "../../agent/src/log";
import { listenAgent } from "../../agent/src/server";
import { importPrivateKey, importPublicKey, keyId } from "../../protocol";
import { configFor, fakeRunner, onCleanup, tempDir, watchdogKeys } from "./helpers";

async function cli(...argv: string[]) {
	let out = "";
	let err = "";
	const code = await runCli(argv, { out: (t) => void (out += t), err: (t) => void (err += t) });
	return { code, out, err };
}

describe("keygen", () => {
	it("writes a 0600 key file, prints the public key and the wrangler command", async () => {
		const dir = await tempDir();
		const file = join(dir, "watchdog.key");
		const { code, out } = await cli("keygen", "--out", file);
		expect(code).toBe(0);
		expect((await stat(file)).mode & 0o777).toBe(0o600);
		const text = await readFile(file, "utf8");
		expect(text).toMatch(/^ed25519-priv:[A-Za-z0-9+/=]+\n$/);
		const publicLine = out.match(/ed25519:[A-Za-z0-9_-]{43}/)?.[0];
		expect(publicLine).toBeDefined();
		// The printed public key belongs to the written private key.
		expect(await keyId(await importPrivateKey(text))).toBe(
			await keyId(await importPublicKey(publicLine ?? "")),
		);
		expect(out).toContain(`npx wrangler secret put WATCHDOG_PRIVATE_KEY < ${file}`);
		expect(out).not.toContain(text.trim());
	});

	it("never overwrites without --force; with --force replaces it and keeps 0600", async () => {
		const dir = await tempDir();
		const file = join(dir, "k");
		await writeFile(file, "precious", { mode: 0o644 });
		const refused = await cli("keygen", "--out", file);
		expect(refused.code).toBe(1);
		expect(refused.err).toMatch(/already exists; not overwriting/);
		expect(await readFile(file, "utf8")).toBe("precious");
		const forced = await cli("keygen", "--out", file, "--force");
		expect(forced.code).toBe(0);
		expect(await readFile(file, "utf8")).toMatch(/^ed25519-priv:/);
		expect((await stat(file)).mode & 0o777).toBe(0o600);
	});
});

describe("check-config", () => {
	it("prints a summary for a valid config", async () => {
		const dir = await tempDir();
		const keys = await watchdogKeys();
		const file = join(dir, "agent.json");
		await writeFile(
			file,
			JSON.stringify({
				role: "standby",
				watchdogPublicKeys: [keys.publicKeyText],
				primaryReadyUrl: "http://primary.example.ts.net:18789/readyz",
				workspace: dir,
				gatewayUnit: { name: "openclaw-gateway.service", scope: "user" },
				stateDir: "state",
			}),
		);
		const { code, out } = await cli("check-config", file);
		expect(code).toBe(0);
		expect(out).toContain("config OK");
		expect(out).toContain(`key id ${keys.keyId}`);
		expect(out).toContain("git-sync -> systemd-start -> wait-ready");
		expect(out).toContain(join(dir, "state"));
		expect(out).toContain("openclaw-gateway.service (user)");
	});

	it("exits 1 naming every problem", async () => {
		const dir = await tempDir();
		const file = join(dir, "agent.json");
		await writeFile(
			file,
			JSON.stringify({ role: "boss", watchdogPublicKeys: [], gatewayUnit: { name: "g.service" } }),
		);
		const { code, err } = await cli("check-config", file);
		expect(code).toBe(1);
		expect(err).toContain("invalid config (3 problems)");
		expect(err).toContain('role: expected "primary" or "standby"');
		expect(err).toContain("watchdogPublicKeys: expected at least one public key");
		expect(err).toContain("workspace: missing");
	});
});

describe("usage errors exit 2 with a clear message", () => {
	const cases: [string[], RegExp][] = [
		[[], /Usage:/],
		[["frobnicate"], /unknown command "frobnicate"/],
		[["serve"], /serve needs --config FILE/],
		[["serve", "--config"], /--config/],
		[["check-config"], /check-config needs the config FILE/],
		[["keygen", "--bogus"], /Unknown option '--bogus'/],
		[["call"], /call needs URL and ACTION/],
		[["call", "127.0.0.1:18790", "status", "--key", "k"], /URL must be an http\(s\) URL/],
		[["call", "http://127.0.0.1:18790/v1/status", "status", "--key", "k"], /without a path/],
		[
			["call", "http://127.0.0.1:18790", "reboot", "--key", "k"],
			/ACTION must be one of status, promote, demote, sync/,
		],
		[["call", "http://127.0.0.1:18790", "status"], /needs --key FILE/],
		[
			["call", "http://127.0.0.1:18790", "promote", "--key", "k", "--term=-1"],
			/--term expects an integer/,
		],
		[
			["call", "http://127.0.0.1:18790", "promote", "--key", "k", "--term", "1.5"],
			/--term expects an integer/,
		],
		[
			["call", "http://127.0.0.1:18790", "promote", "--key", "k", "--wait", "99999"],
			/--wait expects an integer from 0 to 25000/,
		],
		[["call", "http://127.0.0.1:18790", "promote", "--key", "k", "--op", "a b"], /--op expects/],
	];
	for (const [argv, message] of cases) {
		it(`failover-agent ${argv.join(" ")}`, async () => {
			const { code, out, err } = await cli(...argv);
			expect(code).toBe(2);
			expect(out + err).toMatch(message);
		});
	}

	it("--help for each command exits 0", async () => {
		for (const command of ["keygen", "serve", "check-config", "call"]) {
			const { code, out } = await cli(command, "--help");
			expect(code).toBe(0);
			expect(out).toContain(`Usage: failover-agent ${command}`);
		}
		expect((await cli("--help")).code).toBe(0);
	});
});

describe("call, against an agent on a real port", () => {
	it("signed status and promote over 127.0.0.1; a failed action exits 1", async () => {
		const dir = await tempDir();
		const keyFile = join(dir, "watchdog.key");
		const gen = await cli("keygen", "--out", keyFile);
		const publicKey = gen.out.match(/ed25519:[A-Za-z0-9_-]{43}/)?.[0] ?? "";
		const runner = fakeRunner((step) =>
			step.type === "git-push"
				? { status: "failed", ms: 1, output: "rejected", error: "push rejected" }
				: { status: "succeeded", ms: 1, output: "" },
		);
		const config = configFor(
			{ stateDir: join(dir, "state"), listen: { host: "127.0.0.1", port: 0 } },
			publicKey,
		);
		const listened = await listenAgent(config, {
			runStep: runner.runStep,
			log: silentLogger,
			startPeerProbe: false,
		});
		if (!listened.ok) throw new Error(listened.message);
		onCleanup(() => listened.running.close());
		const url = `http://127.0.0.1:${listened.running.port}`;

		const status = await cli("call", url, "status", "--key", keyFile);
		expect(status.code).toBe(0);
		expect(JSON.parse(status.out)).toMatchObject({ version: 1, role: "standby", term: 0 });

		const promote = await cli(
			"call",
			url,
			"promote",
			"--key",
			keyFile,
			"--term",
			"3",
			"--op",
			"cli-1",
		);
		expect(promote.code).toBe(0);
		expect(JSON.parse(promote.out)).toMatchObject({
			opId: "cli-1",
			action: "promote",
			term: 3,
			status: "succeeded",
		});

		// No --term: the CLI reads the agent's term (3) first, so the command is not stale.
		const demote = await cli("call", url, "demote", "--key", keyFile);
		expect(demote.err).toContain("using the agent's current term 3");
		expect(JSON.parse(demote.out)).toMatchObject({ action: "demote", term: 3, status: "failed" });
		expect(demote.code).toBe(1);

		const stale = await cli("call", url, "sync", "--key", keyFile, "--term", "1");
		expect(stale.code).toBe(1);
		expect(stale.err).toMatch(/rejected \(HTTP 409 stale-term\)/);

		const wrongKey = join(dir, "other.key");
		await cli("keygen", "--out", wrongKey);
		const unknown = await cli("call", url, "status", "--key", wrongKey);
		expect(unknown.code).toBe(1);
		expect(unknown.err).toMatch(/unknown-key/);
		expect(runner.calls.map((c) => c.step.type)).toEqual([
			"git-sync",
			"systemd-start",
			"wait-ready",
			"systemd-stop",
			"git-push",
		]);
	});

	it("an unreachable agent exits 1 with a clear message", async () => {
		const dir = await tempDir();
		const keyFile = join(dir, "watchdog.key");
		await cli("keygen", "--out", keyFile);
		const { closedPortUrl } = await import("./fake-gateway");
		const url = new URL(await closedPortUrl()).origin;
		const res = await cli("call", url, "status", "--key", keyFile, "--timeout", "2000");
		expect(res.code).toBe(1);
		expect(res.err).toMatch(/agent unreachable: .*ECONNREFUSED/);
	});

	it("a key file that is not a key exits 1 naming the flag", async () => {
		const dir = await tempDir();
		await writeFile(join(dir, "k"), "hello");
		const res = await cli("call", "http://127.0.0.1:1", "status", "--key", join(dir, "k"));
		expect(res.code).toBe(1);
		expect(res.err).toMatch(/--key .*private key: expected "ed25519-priv:"/);
	});
});
