// `failover-gateway init` as a new user runs it: unattended with flags, at a prompt with bad answers, and again.
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../agent/src/config";
import { runOperatorCli } from "../../operator/src/cli";
import type { Prompter } from "../../operator/src/init/prompt";
import { parseWatchConfig } from "../../worker/src/config";

const dirs: string[] = [];
afterEach(() => {
	for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
	const d = mkdtempSync(join(tmpdir(), "fg-init-"));
	dirs.push(d);
	return d;
}

const GOOD = [
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
		["--gateway-user", "Root User", "Unix user"],
		["--gateway-user", "root", "never as root"],
		["--peer-ready-url", "https://primary.tn.ts.net/readyz", "over the tailnet"],
		["--peer-ready-url", "ftp://primary:18789/readyz", "http(s) URL"],
	])("refuses %s %j with the reason", async (flag, value, reason) => {
		const dir = join(tempDir(), "local");
		// The bad value comes first, so it answers pair 1 (a repeated flag answers the next pair); "=" lets
		// a value start with "-".
		const reordered = ["--yes", "--dir", dir, `${flag}=${value}`, ...GOOD];
		const r = await run(reordered);
		expect(r.code).toBe(1);
		expect(r.err).toContain(`${flag}:`);
		expect(r.err).toContain(reason);
	});

	it("allows loopback http URLs only with --local-dev", async () => {
		const local = [
			"--ready-url",
			"http://127.0.0.1:9/readyz",
			"--standby-agent-url",
			"http://127.0.0.1:10",
		];
		expect((await run(["--yes", "--dir", join(tempDir(), "l"), ...local])).code).toBe(1);
		expect(
			(await run(["--yes", "--local-dev", "--dir", join(tempDir(), "l"), ...local])).code,
		).toBe(0);
	});

	it("names a required flag it cannot ask for", async () => {
		const r = await run(["--yes", "--dir", join(tempDir(), "l")]);
		expect(r.code).toBe(1);
		expect(r.err).toContain("--ready-url is required");
	});
});

describe("init, at a prompt", () => {
	it("refuses a bad answer with the reason, asks again, and takes defaults on Enter", async () => {
		const dir = join(tempDir(), "local");
		const p = scripted([
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
});
