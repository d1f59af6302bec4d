// `failover-gateway init` as a new user runs it: unattended with flags, at a prompt with bad answers, and again.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../agent/src/config";
import { runOperatorCli } from "../../operator/src/cli";
import type { Prompter } from "../../operator/src/init/prompt";
import { agentTransport, parseWatchConfig } from "../../worker/src/config";

const dirs: string[] = [];
afterEach(() => {
	for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
	const d = mkdtempSync(join(tmpdir(), "fg-init-"));
	dirs.push(d);
	return d;
}

/** The standby's host over the tailnet, for the primary's self-fence (fencing.standbyUrl). */
const STANDBY_URL = "http://standby.tn.ts.net:18789/healthz";

const GOOD = [
	"--transport",
	"endpoint",
	"--ready-url",
	"https://primary.tn.ts.net/readyz",
	"--standby-agent-url",
	"https://standby.tn.ts.net:8443",
];

async function run(args: string[], prompter?: Prompter) {
	const out: string[] = [];
	const err: string[] = [];
	const code = await runOperatorCli(
		["init", ...args],
		{ out: (t) => out.push(t), err: (t) => err.push(t) },
		{ ...(prompter ? { prompter } : {}), env: {}, fetch },
	);
	return { code, out: out.join(""), err: err.join("") };
}

/** Answers prompts from a script, recording what was asked and said. */
function scripted(answers: string[]): Prompter & { said: string[]; asked: string[] } {
	const said: string[] = [];
	const asked: string[] = [];
	return {
		said,
		asked,
		async ask(text) {
			asked.push(text);
			return answers.shift();
		},
		say(text) {
			said.push(text);
		},
		close() {},
	};
}

describe("init, unattended", () => {
	it("writes a key (0600, never printed), a Worker config and agent configs the product's parsers accept", async () => {
		const dir = join(tempDir(), "local");
		const r = await run([
			"--yes",
			"--dir",
			dir,
			...GOOD,
			"--primary-agent-url",
			"https://primary.tn.ts.net:8443",
			"--standby-url",
			STANDBY_URL,
		]);
		expect(r.err).toBe("");
		expect(r.code).toBe(0);
		expect(statSync(join(dir, "watchdog.key")).mode & 0o777).toBe(0o600);
		expect(statSync(join(dir, "worker-secrets.json")).mode & 0o777).toBe(0o600);
		const privateKey = readFileSync(join(dir, "watchdog.key"), "utf8").trim();
		expect(r.out).not.toContain(privateKey.slice(-40));
		const secrets = JSON.parse(readFileSync(join(dir, "worker-secrets.json"), "utf8"));
		expect(secrets.WATCHDOG_PRIVATE_KEY).toBe(privateKey);
		expect(r.out).not.toContain(secrets.ADMIN_TOKEN);
		const worker = parseWatchConfig(readFileSync(join(dir, "worker-config.json"), "utf8"));
		expect(worker.errors).toEqual([]);
		expect(worker.pairs.get("home")?.primary.expectBody).toBe('"ready":true');
		for (const role of ["standby", "primary"]) {
			const loaded = await loadConfig(join(dir, "home", role, "config.json"));
			if (!loaded.ok) throw new Error(loaded.errors.join("; "));
			expect(loaded.config.role).toBe(role);
			expect(loaded.config.watchdogUrl).toBeUndefined();
			// Complete for this release: replication on (init's Worker sends leases), the primary fenced.
			expect(loaded.config.replication.enabled).toBe(true);
			expect(loaded.config.replication.remote).toBe("origin");
			expect(loaded.config.fencing.standbyUrl).toBe(role === "primary" ? STANDBY_URL : undefined);
			const unit = readFileSync(join(dir, "home", role, "failover-agent.service"), "utf8");
			expect(unit).toMatch(/^User=openclaw$/m);
			expect(unit).toMatch(/^ReadWritePaths=\/home\/openclaw\/\.openclaw\/workspace$/m);
		}
		expect(r.out).toMatch(/^1\. \[your machine\] Build the agent bundle/m);
		// Every local file a printed scp or --secrets-file/--var line names was written by this run.
		const named = [...r.out.matchAll(/(\S*local\/\S+\.(?:json|service|rules|key))/g)].map((m) =>
			(m[1] as string).replace(/\)$/, ""),
		);
		expect(named.length).toBeGreaterThan(5);
		for (const file of named) expect(statSync(file).isFile(), file).toBe(true);
		expect(r.out).toContain(`--secrets-file ${join(dir, "worker-secrets.json")}`);
	});

	it("fills the unit and the polkit rule for a system-scope gateway run by another user", async () => {
		const dir = join(tempDir(), "local");
		const r = await run([
			"--yes",
			"--dir",
			dir,
			...GOOD,
			"--gateway-scope",
			"system",
			"--gateway-user",
			"claw",
			"--workspace",
			"/srv/claw/ws",
		]);
		expect(r.code).toBe(0);
		const rule = readFileSync(join(dir, "home", "standby", "50-failover-agent.rules"), "utf8");
		expect(rule).toContain('var agentUser = "claw";');
		expect(readFileSync(join(dir, "home", "standby", "failover-agent.service"), "utf8")).toMatch(
			/^ReadWritePaths=\/srv\/claw\/ws$/m,
		);
		expect(r.out).toContain("/etc/polkit-1/rules.d/50-failover-agent.rules");
	});

	it("keeps the key and the admin token when run again, so installed agents keep working", async () => {
		const dir = join(tempDir(), "local");
		expect((await run(["--yes", "--dir", dir, ...GOOD])).code).toBe(0);
		const key = readFileSync(join(dir, "watchdog.key"), "utf8");
		const token = JSON.parse(readFileSync(join(dir, "worker-secrets.json"), "utf8")).ADMIN_TOKEN;
		const again = await run([
			"--yes",
			"--dir",
			dir,
			...GOOD,
			"--pair",
			"home",
			"--pair",
			"office",
			...GOOD,
		]);
		expect(again.code).toBe(0);
		expect(readFileSync(join(dir, "watchdog.key"), "utf8")).toBe(key);
		expect(JSON.parse(readFileSync(join(dir, "worker-secrets.json"), "utf8")).ADMIN_TOKEN).toBe(
			token,
		);
		const worker = parseWatchConfig(readFileSync(join(dir, "worker-config.json"), "utf8"));
		expect([...worker.pairs.keys()]).toEqual(["home", "office"]);
		// A run for one pair keeps the others, as they were.
		const third = await run([
			"--yes",
			"--dir",
			dir,
			"--pair",
			"lab",
			...GOOD,
			"--failback",
			"manual",
		]);
		expect(third.code).toBe(0);
		expect(third.out).toContain("Kept the other pairs already in");
		const merged = parseWatchConfig(readFileSync(join(dir, "worker-config.json"), "utf8"));
		expect([...merged.pairs.keys()]).toEqual(["home", "office", "lab"]);
		expect(merged.pairs.get("lab")?.failback).toBe("manual");
	});

	it.each([
		["--ready-url", "http://primary.tn.ts.net/readyz", "plain http://"],
		["--ready-url", "https://100.101.102.103/readyz", "private-range IP"],
		["--ready-url", "https://203.0.113.7/readyz", "bare IP"],
		["--ready-url", "https://127.0.0.1:18789/readyz", "loopback"],
		["--ready-url", "https://primary/readyz", "single-label"],
		["--ready-url", "not a url", "not an absolute URL"],
		["--standby-agent-url", "https://user:pw@standby.tn.ts.net", "credentials"],
		["--pair", "Home", "lowercase"],
		["--pair", "-home", "starting with a letter or digit"],
		["--pair", "a b", "lowercase"],
		["--probe-interval", "0", ">=1"],
		["--probe-interval", "301", "<=300"],
		["--probe-interval", "five", "probe interval"],
		["--failback", "sometimes", "failback"],
		["--gateway-scope", "global", "gateway scope"],
		["--gateway-unit", "-x.service", "systemd unit name"],
		["--workspace", "relative/ws", "absolute path"],
		["--workspace", "/home/openclaw/my workspace", "not a plain absolute path"],
		["--workspace", "/home/openclaw/ws;reboot", "not a plain absolute path"],
		["--workspace", "/home/openclaw/$HOME", "not a plain absolute path"],
		["--workspace", "/home/openclaw/it's", "not a plain absolute path"],
		["--gateway-user", "Root User", "Unix user"],
		["--gateway-user", "root", "never as root"],
		["--peer-ready-url", "https://primary.tn.ts.net/readyz", "over the tailnet"],
		["--peer-ready-url", "ftp://primary:18789/readyz", "http(s) URL"],
		["--standby-url", "http://primary.tn.ts.net:18789/healthz", "the primary's host"],
		["--standby-url", "https://primary.tn.ts.net/healthz", "the primary's host"],
		["--standby-url", "ftp://standby.tn.ts.net/healthz", "standby URL"],
		["--standby-url", "standby", "standby URL"],
	])("refuses %s %j with the reason", async (flag, value, reason) => {
		const dir = join(tempDir(), "local");
		// The bad value comes first, so it answers pair 1 (a repeated flag answers the next pair); "=" lets
		// a value start with "-". A primary agent, so that the standby URL is asked.
		const reordered = [
			"--yes",
			"--dir",
			dir,
			`${flag}=${value}`,
			...GOOD,
			"--primary-agent-url",
			"https://primary.tn.ts.net:8443",
			...(flag === "--standby-url" ? [] : ["--standby-url", STANDBY_URL]),
		];
		const r = await run(reordered);
		expect(r.code).toBe(1);
		expect(r.err).toContain(`${flag}:`);
		expect(r.err).toContain(reason);
	});

	it("allows loopback http URLs only with --local-dev", async () => {
		const local = [
			"--transport",
			"endpoint",
			"--ready-url",
			"http://127.0.0.1:9/readyz",
			"--standby-agent-url",
			"http://127.0.0.1:10",
		];
		expect((await run(["--yes", "--dir", join(tempDir(), "l"), ...local])).code).toBe(1);
		const ok = await run(["--yes", "--local-dev", "--dir", join(tempDir(), "l"), ...local]);
		expect(ok.err).toBe("");
		expect(ok.code).toBe(0);
	});

	it.each([
		[
			["--workspace", "/srv/a", "--workspace", "/srv/b"],
			"--workspace is given 2 times for 1 pair(s)",
		],
		[
			["--ready-url", "https://other.tn.ts.net/readyz"],
			"--ready-url is given 2 times for 1 pair(s)",
		],
		[
			["--pair", "home", "--probe-interval", "5", "--probe-interval", "7"],
			"--probe-interval is given 2 times for 1 pair(s)",
		],
	])("refuses a pair flag given more often than there are pairs: %j", async (extra, reason) => {
		const dir = join(tempDir(), "local");
		const r = await run(["--yes", "--dir", dir, ...GOOD, ...extra]);
		expect(r.code).toBe(1);
		expect(r.err).toContain(reason);
		expect(r.err).toContain("once per --pair");
		expect(existsSync(join(dir, "watchdog.key"))).toBe(false);
	});

	it("names a required flag it cannot ask for", async () => {
		const r = await run(["--yes", "--dir", join(tempDir(), "l"), "--transport", "endpoint"]);
		expect(r.code).toBe(1);
		expect(r.err).toContain("--ready-url is required");
		const dial = await run(["--yes", "--dir", join(tempDir(), "l")]);
		expect(dial.code).toBe(1);
		expect(dial.err).toContain("--worker-url is required");
	});
});

const WORKER = "https://failover-gateway.acme.workers.dev";
const DIAL = [
	"--worker-url",
	WORKER,
	"--ready-url",
	"https://primary.tn.ts.net/readyz",
	"--standby-url",
	STANDBY_URL,
];

describe("init, dial-out (the default transport)", () => {
	it("gives each side only its agentPublicKey and each agent the Worker's URL; the steps publish no agent", async () => {
		const dir = join(tempDir(), "local");
		const r = await run(["--yes", "--dir", dir, ...DIAL]);
		expect(r.err).toBe("");
		expect(r.code).toBe(0);
		const raw = JSON.parse(readFileSync(join(dir, "worker-config.json"), "utf8"));
		expect(raw.pairs[0].standby).not.toHaveProperty("agentUrl");
		expect(raw.pairs[0].primary).not.toHaveProperty("agentUrl");
		const worker = parseWatchConfig(JSON.stringify(raw));
		expect(worker.errors).toEqual([]);
		const pair = worker.pairs.get("home");
		if (!pair) throw new Error("no pair home");
		expect(agentTransport(pair, "standby").kind).toBe("dial-out");
		// The primary runs an agent by default: a witness, dialing out like the standby's.
		expect(agentTransport(pair, "primary").kind).toBe("dial-out");
		for (const role of ["standby", "primary"] as const) {
			const loaded = await loadConfig(join(dir, "home", role, "config.json"));
			if (!loaded.ok) throw new Error(loaded.errors.join("; "));
			expect(loaded.config.watchdogUrl).toBe(WORKER);
			expect(pair[role].agentPublicKey).toBeDefined();
		}
		expect(r.out).not.toContain("tailscale funnel --bg --https=8443");
		expect(r.out).not.toContain("18790");
		expect(r.out).not.toContain("failover-agent call");
		expect(r.out.match(/grep "dial-out: connected"/g)).toHaveLength(2);
		expect(r.out).toContain(`npx failover-gateway doctor --url ${WORKER}`);
		// The primary's readiness URL is still published: the Worker probes it.
		expect(r.out).toContain("publish only /readyz through Tailscale Funnel");
	});

	it('requires --standby-url with a primary agent; "none" leaves the primary unfenced, on purpose', async () => {
		const bare = DIAL.slice(0, 4);
		const missing = await run(["--yes", "--dir", join(tempDir(), "l"), ...bare]);
		expect(missing.code).toBe(1);
		expect(missing.err).toContain("--standby-url is required");
		const dir = join(tempDir(), "l");
		const none = await run(["--yes", "--dir", dir, ...bare, "--standby-url", "none"]);
		expect(none.err).toBe("");
		expect(none.code).toBe(0);
		const loaded = await loadConfig(join(dir, "home", "primary", "config.json"));
		if (!loaded.ok) throw new Error(loaded.errors.join("; "));
		expect(loaded.config.fencing.standbyUrl).toBeUndefined();
		// Without a primary agent nothing is asked: --primary-agent no needs no --standby-url.
		const solo = await run([
			"--yes",
			"--dir",
			join(tempDir(), "l"),
			...bare,
			"--primary-agent",
			"no",
		]);
		expect(solo.err).toBe("");
		expect(solo.code).toBe(0);
	});

	it("runs no primary agent with --primary-agent no", async () => {
		const dir = join(tempDir(), "local");
		const r = await run(["--yes", "--dir", dir, ...DIAL, "--primary-agent", "no"]);
		expect(r.code).toBe(0);
		const worker = parseWatchConfig(readFileSync(join(dir, "worker-config.json"), "utf8"));
		const pair = worker.pairs.get("home");
		if (!pair) throw new Error("no pair home");
		expect(agentTransport(pair, "primary").kind).toBe("none");
		expect(() => statSync(join(dir, "home", "primary", "config.json"))).toThrow();
		expect(r.out.match(/grep "dial-out: connected"/g)).toHaveLength(1);
	});

	it.each([
		["--worker-url", "http://failover-gateway.acme.workers.dev", "plain http://"],
		["--worker-url", "https://127.0.0.1:8787", "loopback"],
		["--worker-url", "https://failover-gateway.acme.workers.dev/agent/v1", "no path"],
		["--worker-url", "workers.dev", "not an absolute URL"],
		["--transport", "websocket", "dial-out or endpoint"],
		["--standby-agent-url", "https://standby.tn.ts.net:8443", "does not apply"],
		["--primary-agent-url", "https://primary.tn.ts.net:8443", "does not apply"],
		["--primary-agent", "maybe", "yes or no"],
	])("refuses %s %j with the reason", async (flag, value, reason) => {
		// Last, so it overrides DIAL's --worker-url (a setup flag is not repeatable).
		const r = await run(["--yes", "--dir", join(tempDir(), "l"), ...DIAL, `${flag}=${value}`]);
		expect(r.code).toBe(1);
		expect(r.err).toContain(reason);
	});

	it("refuses --primary-agent with --transport endpoint", async () => {
		const r = await run(["--yes", "--dir", join(tempDir(), "l"), ...GOOD, "--primary-agent=no"]);
		expect(r.code).toBe(1);
		expect(r.err).toContain("--primary-agent does not apply to --transport endpoint");
	});

	it("allows a local Worker over http only with --local-dev", async () => {
		const local = [
			"--worker-url",
			"http://127.0.0.1:8787",
			"--ready-url",
			"http://127.0.0.1:9/readyz",
			"--standby-url",
			"http://127.0.0.1:10/healthz",
		];
		expect((await run(["--yes", "--dir", join(tempDir(), "l"), ...local])).code).toBe(1);
		const dir = join(tempDir(), "l");
		const ok = await run(["--yes", "--local-dev", "--dir", dir, ...local]);
		expect(ok.err).toBe("");
		expect(ok.code).toBe(0);
		const loaded = await loadConfig(join(dir, "home", "standby", "config.json"));
		if (!loaded.ok) throw new Error(loaded.errors.join("; "));
		expect(loaded.config.watchdogUrl).toBe("http://127.0.0.1:8787");
	});
});

describe("init, at a prompt", () => {
	it("refuses a bad answer with the reason, asks again, and takes defaults on Enter", async () => {
		const dir = join(tempDir(), "local");
		const p = scripted([
			"endpoint", // transport
			"", // Worker URL: none
			"", // pair name: default "home"
			"https://10.0.0.5/readyz", // refused: private IP
			"https://primary.tn.ts.net/readyz",
			"", // expect body
			"https://standby.tn.ts.net:8443",
			"", // primary agent: none
			"1000", // refused: interval too large
			"10",
			...Array(8).fill(""),
			"n", // no other pair
		]);
		const r = await run(["--dir", dir], p);
		expect(r.err).toBe("");
		expect(r.code).toBe(0);
		const said = p.said.join("");
		expect(said).toMatch(/refused: ready URL: 10\.0\.0\.5 is a private-range IP address/);
		expect(said).toMatch(/refused: probe interval \(seconds\): .*300/);
		expect(p.asked.some((q) => q.includes("[http://primary.tn.ts.net:18789/readyz]"))).toBe(true);
		const worker = parseWatchConfig(readFileSync(join(dir, "worker-config.json"), "utf8"));
		expect(worker.pairs.get("home")?.probeIntervalSeconds).toBe(10);
	});

	it("asks for dial-out by default and requires the Worker's URL, refusing one with a path", async () => {
		const dir = join(tempDir(), "local");
		const p = scripted([
			"", // transport: default dial-out
			"", // Worker URL: required, asked again
			"https://failover-gateway.acme.workers.dev/agent/v1/connect", // refused: a path
			WORKER,
			"", // pair name: default "home"
			"https://primary.tn.ts.net/readyz",
			"", // expect body
			"", // primary agent: default yes
			"", // probe interval
			"", // failback
			"", // peer ready URL
			"", // standby URL: required with a primary agent, asked again
			"http://primary.tn.ts.net:18789/healthz", // refused: the primary's own host
			STANDBY_URL,
			...Array(6).fill(""),
			"n", // no other pair
		]);
		const r = await run(["--dir", dir], p);
		expect(r.err).toBe("");
		expect(r.code).toBe(0);
		const said = p.said.join("");
		expect(said).toContain("an answer is required");
		expect(said).toMatch(/refused: worker URL: expected the Worker's base URL with no path/);
		expect(p.asked.some((q) => q.includes("agent's URL"))).toBe(false);
		expect(said).toMatch(/refused: standby URL: primary\.tn\.ts\.net is the primary's host/);
		const loaded = await loadConfig(join(dir, "home", "primary", "config.json"));
		if (!loaded.ok) throw new Error(loaded.errors.join("; "));
		expect(loaded.config.watchdogUrl).toBe(WORKER);
	});
});
