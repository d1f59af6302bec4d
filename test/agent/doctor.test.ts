// `failover-agent doctor`: each check broken on its own (real git with a bare remote, fake systemd tools on PATH).
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { doctorCommand } from "../../agent/src/commands/doctor";
import type { DoctorDeps } from "../../agent/src/doctor/check";
import { runCommand } from "../../agent/src/steps/run-command";
import { generateKeyPair } from "../../protocol";
import { writeFakeSystemTools } from "../harness/fake-system-tools";
import { createWorkspaces, git } from "../harness/git-workspace";

const UID = 4242;
let root: string;
let bin: string;
let publicKey: string;
/** The agent's own key (agentKeyFile), written 0600 into each case's folder. */
let agentKeyText: string;
let peer: { server: Server; url: string; answer: { status: number; body: string } };
let dateServer: { server: Server; url: string; offsetMs: number };

function listen(
	handler: Parameters<typeof createServer>[1],
): Promise<{ server: Server; url: string }> {
	const server = createServer(handler);
	return new Promise((resolve) =>
		server.listen(0, "127.0.0.1", () =>
			resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }),
		),
	);
}

beforeAll(async () => {
	root = mkdtempSync(join(tmpdir(), "fg-doctor-"));
	bin = join(root, "bin");
	mkdirSync(bin);
	writeFakeSystemTools(bin);
	publicKey = (await generateKeyPair()).publicKeyText;
	agentKeyText = (await generateKeyPair()).privateKeyText;
	const answer = { status: 200, body: '{"ready":true}' };
	peer = {
		...(await listen((_req, res) => {
			res.writeHead(answer.status, { "content-type": "application/json" });
			res.end(answer.body);
		})),
		answer,
	};
	const date = { offsetMs: 0 };
	const d = await listen((_req, res) => {
		res.writeHead(200, { date: new Date(Date.now() + date.offsetMs).toUTCString() });
		res.end();
	});
	dateServer = Object.assign(date, d);
});

afterAll(async () => {
	await new Promise((r) => peer.server.close(r));
	await new Promise((r) => dateServer.server.close(r));
	rmSync(root, { recursive: true, force: true });
});

interface Setup {
	uid?: number;
	config?: Record<string, unknown> | string;
	env?: Record<string, string>;
	runtimeDir?: boolean;
	prepare?: (ws: string, dir: string) => void;
	timeUrl?: string;
}

async function doctor(setup: Setup = {}) {
	const dir = mkdtempSync(join(root, "case-"));
	const ws = createWorkspaces(dir).standby;
	setup.prepare?.(ws, dir);
	const log = join(dir, "systemctl.log");
	writeFileSync(log, "");
	const agentKey = join(dir, "agent.key");
	writeFileSync(agentKey, `${agentKeyText}\n`, { mode: 0o600 });
	const config =
		typeof setup.config === "string"
			? setup.config
			: JSON.stringify({
					role: "standby",
					pair: "home",
					agentKeyFile: agentKey,
					watchdogPublicKeys: [publicKey],
					primaryReadyUrl: `${peer.url}/readyz`,
					workspace: ws,
					gatewayUnit: { name: "openclaw-gateway.service", scope: "user" },
					stateDir: join(dir, "state"),
					...setup.config,
				});
	const file = join(dir, "config.json");
	writeFileSync(file, config);
	const deps: DoctorDeps = {
		run: runCommand,
		env: { PATH: `${bin}:${process.env.PATH ?? ""}`, FAKE_LOG: log, ...setup.env },
		fetch: globalThis.fetch,
		user: { name: "openclaw", uid: setup.uid ?? UID, home: dir },
		now: Date.now,
		exists: async (path) => (path === `/run/user/${UID}` ? setup.runtimeDir !== false : false),
	};
	const out: string[] = [];
	const args = ["--config", file, ...(setup.timeUrl ? ["--time-url", setup.timeUrl] : [])];
	const code = await doctorCommand(
		args,
		{ out: (t) => out.push(t), err: (t) => out.push(t) },
		deps,
	);
	const text = out.join("");
	const failed = [...text.matchAll(/^FAIL ([^:]+):/gm)].map((m) => m[1]);
	return { code, text, failed, systemctl: readFileSync(log, "utf8") };
}

describe("failover-agent doctor", () => {
	it("passes on a working standby, and never starts or stops anything", async () => {
		const r = await doctor();
		expect(r.failed).toEqual([]);
		expect(r.code).toBe(0);
		expect(r.text).toMatch(/all \d+ checks passed as openclaw/);
		for (const check of [
			"config",
			"workspace",
			"git fetch",
			"git push",
			"lingering",
			"gateway unit",
			"primary readiness",
			"clock",
		])
			expect(r.text).toMatch(new RegExp(`^ok {3}${check}:`, "m"));
		expect(r.systemctl).not.toMatch(/\b(start|stop|restart)\b/);
	}, 30_000);

	// Each row breaks exactly one thing; doctor must fail exactly that check and print that fix.
	const cases: [string, Setup, string, RegExp][] = [
		[
			"a config that does not parse",
			{ config: '{"role": "leader"}' },
			"config",
			/fix: sudoedit .*config\.json/,
		],
		[
			"a workspace that is not a git checkout",
			{ prepare: (ws) => rmSync(join(ws, ".git"), { recursive: true, force: true }) },
			"workspace",
			/fix: git clone <your workspace remote> /,
		],
		[
			"a workspace without a remote",
			{ prepare: (ws) => git(ws, "remote", "remove", "origin") },
			"git remote",
			/fix: git -C .* remote add origin <url>/,
		],
		[
			"a remote it cannot fetch from",
			{ prepare: (ws, dir) => git(ws, "remote", "set-url", "origin", join(dir, "gone.git")) },
			"git fetch",
			/fix: sudo -u openclaw GIT_SSH_COMMAND="ssh -o BatchMode=yes" git -C .* fetch origin/,
		],
		[
			"a remote it cannot push to",
			{
				prepare: (ws, dir) =>
					git(ws, "remote", "set-url", "--push", "origin", join(dir, "gone.git")),
			},
			"git push",
			/fix: sudo -u openclaw git -C .* push --dry-run origin HEAD:refs\/heads\/main/,
		],
		[
			"an ssh remote whose host key is unknown",
			{
				prepare: (ws) =>
					git(ws, "remote", "set-url", "origin", "git@git.example.invalid:me/ws.git"),
			},
			"known_hosts",
			/fix: ssh-keyscan git\.example\.invalid >> .*\.ssh\/known_hosts/,
		],
		[
			"no lingering",
			{ env: { FAKE_LINGER: "no" } },
			"lingering",
			/fix: sudo loginctl enable-linger openclaw$/m,
		],
		[
			"no user manager",
			{ runtimeDir: false },
			"user manager",
			/fix: sudo systemctl start user@4242\.service/,
		],
		[
			"a gateway unit that does not exist",
			{ env: { FAKE_LOADSTATE: "not-found" } },
			"gateway unit",
			/fix: sudo -u openclaw XDG_RUNTIME_DIR=\/run\/user\/4242 openclaw gateway install/,
		],
		[
			"a system unit this user may not start or stop",
			{ config: { gatewayUnit: { name: "openclaw-gateway.service", scope: "system" } } },
			"permission",
			/fix: sudo install -m 0644 50-failover-agent\.rules \/etc\/polkit-1\/rules\.d\//,
		],
		[
			"a primary bound to loopback (connection refused)",
			{ config: { primaryReadyUrl: "http://127.0.0.1:9/readyz" } },
			"primary readiness",
			/fix: on the primary, as the gateway's user: openclaw config set gateway\.bind tailnet/,
		],
		[
			"a standby without primaryReadyUrl",
			{ config: { primaryReadyUrl: undefined } },
			"primary readiness",
			/fix: sudoedit .*primaryReadyUrl/,
		],
		[
			"an unsynchronized clock",
			{ env: { FAKE_NTP: "no" } },
			"clock",
			/fix: sudo timedatectl set-ntp true/,
		],
	];
	it.each(cases)(
		"%s: fails that check alone with its fix",
		async (_label, setup, check, fix) => {
			const r = await doctor(setup);
			expect(r.failed).toEqual([check]);
			expect(r.text).toMatch(fix);
			expect(r.code).toBe(1);
			expect(r.systemctl).not.toMatch(/\b(start|stop|restart)\b/);
		},
		30_000,
	);

	it("keeps the user's own core.sshCommand and adds batch mode to it", async () => {
		const sshLog = join(root, "ssh.log");
		const fakeSsh = join(bin, "fake-ssh");
		writeFileSync(fakeSsh, `#!/bin/sh\necho "$@" >> "${sshLog}"\nexit 255\n`);
		chmodSync(fakeSsh, 0o755);
		const r = await doctor({
			env: { FAKE_KNOWN_HOST: "0" },
			prepare: (ws) => {
				git(ws, "remote", "set-url", "origin", "git@git.example.invalid:me/ws.git");
				git(ws, "config", "core.sshCommand", `${fakeSsh} -i deploy_key`);
			},
		});
		expect(r.failed).toEqual(["git fetch"]);
		expect(readFileSync(sshLog, "utf8")).toMatch(/^-i deploy_key -o BatchMode=yes /m);
	}, 30_000);

	it("refuses to vouch for the unit when run as root, naming the sudo -u command", async () => {
		const r = await doctor({ uid: 0 });
		expect(r.failed).toEqual(["user"]);
		expect(r.text).toMatch(
			/fix: sudo -H -u "\$\(stat -c %U .*\)" node \/opt\/failover-agent\/agent\.mjs doctor --config /,
		);
		expect(r.code).toBe(1);
	}, 30_000);

	it("accepts a system unit that polkit (pkcheck) or sudoers grants", async () => {
		const system = {
			config: { gatewayUnit: { name: "openclaw-gateway.service", scope: "system" } },
		};
		expect((await doctor({ ...system, env: { FAKE_PKCHECK: "0" } })).failed).toEqual([]);
		expect((await doctor({ ...system, env: { FAKE_SUDO: "0" } })).failed).toEqual([]);
	}, 30_000);

	it('refuses a readiness URL that answers 503 or a page without "ready":true', async () => {
		peer.answer.status = 503;
		try {
			expect((await doctor()).failed).toEqual(["primary readiness"]);
		} finally {
			peer.answer.status = 200;
		}
		peer.answer.body = "<html>Control UI</html>";
		try {
			const r = await doctor();
			expect(r.failed).toEqual(["primary readiness"]);
			expect(r.text).toMatch(/without "ready":true/);
		} finally {
			peer.answer.body = '{"ready":true}';
		}
	}, 30_000);

	it("compares the clock with a URL's Date header when given one", async () => {
		expect((await doctor({ timeUrl: dateServer.url, env: { FAKE_NTP: "no" } })).failed).toEqual([]);
		dateServer.offsetMs = 40_000;
		try {
			const r = await doctor({ timeUrl: dateServer.url });
			expect(r.failed).toEqual(["clock"]);
			expect(r.text).toMatch(/fix: sudo timedatectl set-ntp true/);
		} finally {
			dateServer.offsetMs = 0;
		}
	}, 30_000);
});
