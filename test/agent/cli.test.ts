// The failover-agent CLI in-process: keygen, check-config, call and usage errors, with their exit codes.
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../../agent/src/cli";
import { silentLogger } from "../../agent/src/log";
import { listenAgent } from "../../agent/src/server";
import { AGENT_VERSION } from "../../agent/src/version";
import {
	agentFingerprint,
	importPrivateKey,
	importPublicKey,
	keyId,
	MAX_TERM,
	PROTOCOL_VERSION,
} from "../../protocol";
import {
	agentKeys,
	configFor,
	fakeRunner,
	onCleanup,
	TEST_PAIR,
	tempDir,
	watchdogKeys,
	writeAgentKeyFile,
} from "./helpers";

/** The flags naming the test standby (pair, side, agent key) that every call needs. */
async function standbyTarget(): Promise<string[]> {
	const own = await agentKeys();
	return ["--pair", TEST_PAIR, "--side", "standby", "--agent-key", own.publicKeyText];
}

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

describe("keygen --agent", () => {
	it("writes the agent's 0600 key, prints its public key for the Worker and its fingerprint", async () => {
		const dir = await tempDir();
		const file = join(dir, "agent.key");
		const { code, out } = await cli("keygen", "--agent", "--out", file);
		expect(code).toBe(0);
		expect((await stat(file)).mode & 0o777).toBe(0o600);
		const text = await readFile(file, "utf8");
		const publicLine = out.match(/ed25519:[A-Za-z0-9_-]{43}/)?.[0] ?? "";
		expect(await keyId(await importPrivateKey(text))).toBe(
			await keyId(await importPublicKey(publicLine)),
		);
		expect(out).toContain("standby.agentPublicKey");
		expect(out).toContain(`"agentKeyFile": "${file}"`);
		expect(out).toContain(await agentFingerprint(publicLine));
		expect(out).not.toContain("WATCHDOG_PRIVATE_KEY");
		expect(out).not.toContain(text.trim());
	});
});

describe("term", () => {
	async function stoppedAgentConfig(term: number) {
		const dir = await tempDir();
		const keys = await watchdogKeys();
		await writeAgentKeyFile(dir);
		await mkdir(join(dir, "state"));
		await writeFile(
			join(dir, "state", "state.json"),
			JSON.stringify({ format: 1, role: "standby", term, operations: [] }),
		);
		const file = join(dir, "agent.json");
		// Port 9 (discard): nothing answers there, so the agent counts as stopped.
		await writeFile(
			file,
			JSON.stringify({
				pair: "home",
				role: "standby",
				agentKeyFile: "agent.key",
				listen: { host: "127.0.0.1", port: 9 },
				watchdogPublicKeys: [keys.publicKeyText],
				workspace: dir,
				gatewayUnit: { name: "openclaw-gateway.service", scope: "user" },
				stateDir: "state",
			}),
		);
		return { dir, file };
	}

	it("shows the highest term; --set lowers it after a reset, never raises it", async () => {
		const { dir, file } = await stoppedAgentConfig(40);
		const shown = await cli("term", "--config", file);
		expect(shown.code).toBe(0);
		expect(shown.out).toMatch(/^term 40$/m);
		const raise = await cli("term", "--config", file, "--set", "41");
		expect(raise.code).toBe(1);
		expect(raise.err).toMatch(/only rise through the watchdog's signed commands/);
		const lowered = await cli("term", "--config", file, "--set", "7");
		expect(lowered.code).toBe(0);
		const state = JSON.parse(await readFile(join(dir, "state", "state.json"), "utf8"));
		expect(state.term).toBe(7);
	});

	it("refuses to touch the state while an agent answers on its port", async () => {
		const { file } = await stoppedAgentConfig(40);
		const runner = fakeRunner();
		const keys = await watchdogKeys();
		const stateDir = await tempDir();
		await writeAgentKeyFile(stateDir);
		const listened = await listenAgent(
			configFor({ stateDir, listen: { host: "127.0.0.1", port: 0 } }, keys.publicKeyText),
			{ runStep: runner.runStep, log: silentLogger, startPeerProbe: false },
		);
		if (!listened.ok) throw new Error(listened.message);
		onCleanup(() => listened.running.close());
		const config = JSON.parse(await readFile(file, "utf8"));
		config.listen.port = listened.running.port;
		await writeFile(file, JSON.stringify(config));
		const res = await cli("term", "--config", file, "--set", "1");
		expect(res.code).toBe(1);
		expect(res.err).toMatch(/stop it first/);
	});
});

describe("check-config", () => {
	it("prints a summary for a valid config", async () => {
		const dir = await tempDir();
		const keys = await watchdogKeys();
		const file = join(dir, "agent.json");
		await writeAgentKeyFile(dir);
		await writeFile(
			file,
			JSON.stringify({
				pair: "home",
				role: "standby",
				agentKeyFile: "agent.key",
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
		const own = await agentKeys();
		expect(out).toContain(own.publicKeyText);
		expect(out).toContain(await agentFingerprint(own.publicKeyText));
		expect(out).toContain("git-sync -> systemd-start -> wait-ready");
		expect(out).toContain(join(dir, "state"));
		expect(out).toContain("openclaw-gateway.service (user)");
	});

	it.each([
		[
			"a non-readiness primaryReadyUrl",
			{ primaryReadyUrl: "http://primary.example.ts.net:18789/" },
			/primaryReadyUrl .* is not a readiness path \(\/readyz or \/ready\)/,
		],
		[
			"a non-readiness localReadyUrl",
			{
				primaryReadyUrl: "http://p.example.ts.net:18789/ready",
				localReadyUrl: "http://127.0.0.1:18789/healthz",
			},
			/localReadyUrl .* is not a readiness path/,
		],
		[
			"a standby without primaryReadyUrl",
			{},
			/no primaryReadyUrl: the standby witness can never vote/,
		],
	])("warns about %s", async (_n, extra, want) => {
		const dir = await tempDir();
		const keys = await watchdogKeys();
		const agentKeyFile = await writeAgentKeyFile(dir);
		const file = join(dir, "agent.json");
		await writeFile(
			file,
			JSON.stringify({
				role: "standby",
				pair: TEST_PAIR,
				agentKeyFile,
				watchdogPublicKeys: [keys.publicKeyText],
				workspace: dir,
				gatewayUnit: { name: "openclaw-gateway.service", scope: "user" },
				stateDir: "state",
				...extra,
			}),
		);
		const { code, out } = await cli("check-config", file);
		expect(code).toBe(0);
		expect(out).toMatch(want);
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
		expect(err).toContain("invalid config (5 problems)");
		expect(err).toContain("pair: missing");
		expect(err).toContain("agentKeyFile: missing");
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
		// A term the agent's schema would refuse is never sent (term poisoning from the operator's side).
		[
			["call", "http://127.0.0.1:18790", "promote", "--key", "k", "--term", String(MAX_TERM + 1)],
			/--term expects an integer from 0 to 2147483647/,
		],
		[
			["call", "http://127.0.0.1:18790", "promote", "--key", "k", "--term", "9007199254740993"],
			/--term expects an integer from 0 to 2147483647/,
		],
		[["call", "http://127.0.0.1:18790", "status", "--key", "k"], /call needs --pair NAME/],
		[
			["call", "http://127.0.0.1:18790", "status", "--key", "k", "--pair", "home", "--side", "x"],
			/call needs --side primary or --side standby/,
		],
		[
			["call", "http://127.0.0.1:18790", "status", "--key", "k", "--pair", "home"].concat([
				"--side",
				"standby",
				"--agent-key",
				"ed25519:short",
			]),
			/call needs --agent-key/,
		],
		[["term"], /term needs --config FILE/],
		[["term", "--config", "c.json", "--set=-1"], /--set expects an integer from 0 to/],
		[["term", "--config", "c.json", "--set", String(MAX_TERM + 1)], /--set expects an integer/],
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
		await mkdir(join(dir, "state"));
		await writeAgentKeyFile(join(dir, "state"));
		const config = configFor(
			{ stateDir: join(dir, "state"), listen: { host: "127.0.0.1", port: 0 } },
			publicKey,
		);
		const target = await standbyTarget();
		const listened = await listenAgent(config, {
			runStep: runner.runStep,
			log: silentLogger,
			startPeerProbe: false,
		});
		if (!listened.ok) throw new Error(listened.message);
		onCleanup(() => listened.running.close());
		const url = `http://127.0.0.1:${listened.running.port}`;

		const status = await cli("call", url, "status", "--key", keyFile, ...target);
		expect(status.code).toBe(0);
		expect(JSON.parse(status.out)).toMatchObject({
			version: PROTOCOL_VERSION,
			role: "standby",
			term: 0,
		});

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
			...target,
		);
		expect(promote.code).toBe(0);
		expect(JSON.parse(promote.out)).toMatchObject({
			opId: "cli-1",
			action: "promote",
			term: 3,
			status: "succeeded",
		});

		// No --term: the CLI reads the agent's term (3) first, so the command is not stale.
		const demote = await cli("call", url, "demote", "--key", keyFile, ...target);
		expect(demote.err).toContain("using the agent's current term 3");
		expect(JSON.parse(demote.out)).toMatchObject({ action: "demote", term: 3, status: "failed" });
		expect(demote.code).toBe(1);

		const stale = await cli("call", url, "promote", "--key", keyFile, "--term", "1", ...target);
		expect(stale.code).toBe(1);
		expect(stale.err).toMatch(/rejected \(HTTP 409 stale-term\)/);

		// The standby never runs sync: refused, signed by the agent, nothing ran.
		const sync = await cli("call", url, "sync", "--key", keyFile, "--term", "3", ...target);
		expect(sync.code).toBe(1);
		expect(sync.err).toMatch(/rejected \(HTTP 403 action-not-allowed\)/);

		// Told the wrong agent key: the answer does not verify, and the CLI says so instead of printing it as fact.
		const impostor = await import("../../protocol").then((p) => p.generateKeyPair());
		const wrongAgent = target.map((a) => (a.startsWith("ed25519:") ? impostor.publicKeyText : a));
		const unverified = await cli("call", url, "status", "--key", keyFile, ...wrongAgent);
		expect(unverified.code).toBe(1);
		expect(unverified.err).toMatch(/wrong-audience|bad-answer-signature|unsigned-answer/);

		const wrongKey = join(dir, "other.key");
		await cli("keygen", "--out", wrongKey);
		const unknown = await cli("call", url, "status", "--key", wrongKey, ...target);
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
		const res = await cli(
			"call",
			url,
			"status",
			"--key",
			keyFile,
			"--timeout",
			"2000",
			...(await standbyTarget()),
		);
		expect(res.code).toBe(1);
		expect(res.err).toMatch(/agent unreachable: .*ECONNREFUSED/);
	});

	it("a key file that is not a key exits 1 naming the flag", async () => {
		const dir = await tempDir();
		await writeFile(join(dir, "k"), "hello");
		const res = await cli(
			"call",
			"http://127.0.0.1:1",
			"status",
			"--key",
			join(dir, "k"),
			...(await standbyTarget()),
		);
		expect(res.code).toBe(1);
		expect(res.err).toMatch(/--key .*private key: expected "ed25519-priv:"/);
	});
});

describe("--version", () => {
	it.each([["--version"], ["-V"], ["version"]])(
		"%s prints the package and protocol versions",
		async (flag) => {
			const { code, out } = await cli(flag);
			expect(code).toBe(0);
			expect(out).toBe(`failover-agent ${AGENT_VERSION} (protocol ${PROTOCOL_VERSION})\n`);
			expect(AGENT_VERSION).toMatch(/^\d+\.\d+\.\d+/);
		},
	);
});
