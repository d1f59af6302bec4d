// The bundle's dial-out: the single file, copied outside the checkout and run with the unit's flags, dials a stand-in Worker and says a valid hello.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { cp, readFile, writeFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import {
	DIAL_OUT_PATH,
	generateKeyPair,
	HelloFrameSchema,
	importPublicKey,
	newChallenge,
	verifyHello,
} from "../../protocol";
import { tempDir } from "./helpers";

const root = resolve(import.meta.dirname, "../..");
const cleanups: (() => void)[] = [];
afterEach(() => {
	for (const c of cleanups.splice(0)) c();
});

describe("the bundle's dial-out (ws bundled in, no package resolved at run time)", () => {
	it("connects to the Worker's connect route, answers the challenge with a hello that verifies, and pushes its status", async () => {
		const dir = await tempDir();
		const built = spawnSync(
			process.execPath,
			[join(root, "scripts/build-agent.mjs"), "--outfile", join(dir, "build", "agent.mjs")],
			{ encoding: "utf8" },
		);
		expect(built.status, built.stderr).toBe(0);
		const vps = join(dir, "vps");
		await cp(join(dir, "build", "agent.mjs"), join(vps, "agent.mjs"));

		const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, path: DIAL_OUT_PATH });
		await new Promise<void>((r) => wss.once("listening", r));
		cleanups.push(() => {
			for (const c of wss.clients) c.terminate();
			wss.close();
		});
		const agentKeys = await generateKeyPair();
		const watchdog = await generateKeyPair();
		await writeFile(join(vps, "agent.key"), `${agentKeys.privateKeyText}\n`, { mode: 0o600 });
		await writeFile(
			join(vps, "config.json"),
			JSON.stringify({
				listen: { host: "127.0.0.1", port: 0 },
				pair: "home",
				role: "primary",
				agentKeyFile: join(vps, "agent.key"),
				watchdogPublicKeys: [watchdog.publicKeyText],
				watchdogUrl: `http://127.0.0.1:${(wss.address() as AddressInfo).port}`,
				workspace: vps,
				gatewayUnit: { name: "openclaw-gateway.service", scope: "user" },
				localReadyUrl: "http://127.0.0.1:9/readyz",
				stateDir: join(vps, "state"),
			}),
		);
		const seen = new Promise<{ verdict: { ok: boolean }; status: unknown }>((done, fail) => {
			wss.on("connection", (ws, req) => {
				const query = new URL(req.url ?? "/", "http://x").searchParams;
				const challenge = newChallenge();
				ws.send(JSON.stringify({ t: "challenge", challenge, serverTime: Date.now() }));
				let verdict: { ok: boolean } | null = null;
				ws.on("message", async (data) => {
					const frame = JSON.parse(String(data)) as { t: string; status?: unknown };
					if (frame.t === "hello") {
						verdict = await verifyHello({
							hello: HelloFrameSchema.parse(frame),
							challenge,
							pair: query.get("pair") ?? "",
							side: query.get("side") ?? "",
							publicKey: await importPublicKey(agentKeys.publicKeyText),
							now: Date.now(),
						});
						if (!verdict.ok) return fail(new Error(JSON.stringify(verdict)));
						const welcome = { t: "welcome", pair: "home", side: "primary", heartbeatMs: 60_000 };
						ws.send(JSON.stringify({ ...welcome, serverTime: Date.now() }));
					} else if (frame.t === "status" && verdict !== null) {
						done({ verdict, status: frame.status });
					}
				});
			});
		});
		const unit = await readFile(join(root, "agent/systemd/failover-agent.service"), "utf8");
		const words = /^ExecStart=\S+\s+(.*)$/m.exec(unit)?.[1]?.split(/\s+/) ?? [];
		const flags = words.slice(
			0,
			words.findIndex((w) => w.endsWith("agent.mjs")),
		);
		let stderr = "";
		const child: ChildProcess = spawn(
			process.execPath,
			[...flags, join(vps, "agent.mjs"), "serve", "--config", join(vps, "config.json")],
			{ cwd: vps, stdio: ["ignore", "ignore", "pipe"] },
		);
		child.stderr?.on("data", (c: Buffer) => {
			stderr += c.toString();
		});
		cleanups.push(() => child.kill("SIGKILL"));
		const { verdict, status } = await seen;
		expect(verdict.ok).toBe(true);
		expect(status).toMatchObject({ role: "primary", dialOut: { connected: true, connects: 1 } });
		expect(stderr).toBe("");
	}, 60_000);
});
