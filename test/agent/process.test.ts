// The real agent process: a signed status over 127.0.0.1, SIGKILL mid-step then restart (interrupted), SIGTERM.

import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callAgent } from "../../agent/src/client";
import { type OperationRecord, PROTOCOL_VERSION, type StatusResponse } from "../../protocol";
import { buildBundle, startAgentProcess } from "./agent-process";
import {
	agentKeys,
	audienceOf,
	onCleanup,
	tempDir,
	watchdogKeys,
	writeAgentKeyFile,
} from "./helpers";

let bundle = "";
let bundleDir = "";
beforeAll(async () => {
	({ outfile: bundle, dir: bundleDir } = await buildBundle());
}, 60_000);
afterAll(() => rm(bundleDir, { recursive: true, force: true }));

async function writeConfig(dir: string, promote: unknown[]) {
	const keys = await watchdogKeys();
	const file = join(dir, "agent.json");
	await writeAgentKeyFile(dir);
	await writeFile(
		file,
		JSON.stringify({
			listen: { host: "127.0.0.1", port: 0 },
			pair: "home",
			role: "standby",
			agentKeyFile: "agent.key",
			watchdogPublicKeys: [keys.publicKeyText],
			workspace: dir,
			gatewayUnit: { name: "openclaw-gateway.service", scope: "user" },
			localReadyUrl: "http://127.0.0.1:9/readyz",
			stateDir: "state",
			actions: { promote, demote: [], sync: [] },
		}),
	);
	const own = await agentKeys();
	// What every call to this standby needs: who it is, and the key its answers must verify with.
	const target = {
		audience: await audienceOf(own),
		agentPublicKey: own.publicKey,
	};
	return { file, keys, target };
}

async function until<T>(
	what: string,
	probe: () => Promise<T | undefined>,
	timeoutMs = 15_000,
): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const value = await probe();
		if (value !== undefined) return value;
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 50));
	}
}

describe("agent process", () => {
	it("answers a signed status on a real port, and stops cleanly on SIGTERM", async () => {
		const dir = await tempDir();
		const { file, keys, target } = await writeConfig(dir, []);
		const agent = await startAgentProcess(bundle, file);
		const status = await callAgent({
			baseUrl: agent.url,
			action: "status",
			privateKey: keys.privateKey,
			...target,
		});
		expect(status).toMatchObject({
			ok: true,
			httpStatus: 200,
			body: { version: PROTOCOL_VERSION, role: "standby", term: 0 },
		});
		const health = await fetch(`${agent.url}/healthz`);
		expect(await health.json()).toEqual({ ok: true });
		agent.child.kill("SIGTERM");
		expect(await agent.exited).toEqual({ code: 0, signal: null });
		expect(agent.lines.some((l) => JSON.parse(l).msg === "stopped")).toBe(true);
		// JSON lines only, and no secret material in them.
		for (const line of agent.lines) expect(() => JSON.parse(line)).not.toThrow();
		expect(agent.lines.join("\n")).not.toContain(keys.privateKeyText.slice(13, 40));
	}, 30_000); // Starts one or two agent processes: seconds each on a loaded 2-core machine.

	it("killed with SIGKILL during a slow step, restarted: status reports the step as interrupted", async () => {
		const dir = await tempDir();
		const pidFile = join(dir, "step.pid");
		// The step records its pid and then sleeps; `exec` keeps that pid, so cleanup can end exactly it.
		const promote = [
			{
				type: "exec",
				argv: ["sh", "-c", `echo $$ > ${pidFile}; exec sleep 30`],
				timeoutMs: 60_000,
			},
		];
		const { file, keys, target } = await writeConfig(dir, promote);
		onCleanup(async () => {
			if (!existsSync(pidFile)) return;
			const pid = Number((await readFile(pidFile, "utf8")).trim());
			try {
				process.kill(pid, "SIGKILL");
			} catch {}
		});

		const first = await startAgentProcess(bundle, file);
		const accepted = await callAgent({
			baseUrl: first.url,
			action: "promote",
			privateKey: keys.privateKey,
			...target,
			term: 4,
			opId: "slow-promote",
			waitMs: 0,
		});
		expect(accepted).toMatchObject({ ok: true, body: { opId: "slow-promote", status: "running" } });
		await until("the step to start", async () => (existsSync(pidFile) ? true : undefined));
		first.child.kill("SIGKILL");
		expect(await first.exited).toMatchObject({ signal: "SIGKILL" });

		const second = await startAgentProcess(bundle, file);
		const status = await callAgent({
			baseUrl: second.url,
			action: "status",
			privateKey: keys.privateKey,
			...target,
		});
		if (!status.ok) throw new Error(JSON.stringify(status));
		const body = status.body as StatusResponse;
		expect(body.term).toBe(4);
		expect(body.lastOperation).toMatchObject({
			opId: "slow-promote",
			status: "interrupted",
			steps: [{ step: "exec", status: "interrupted" }],
		});
		expect(body.lastOperation?.finishedAt).toBeGreaterThanOrEqual(
			body.lastOperation?.startedAt ?? 0,
		);
		expect(
			second.lines.some((l) => JSON.parse(l).msg === "operation was interrupted by a restart"),
		).toBe(true);

		// Re-sending the same opId is a poll: it returns the interrupted record and does not run again.
		const again = await callAgent({
			baseUrl: second.url,
			action: "promote",
			privateKey: keys.privateKey,
			...target,
			term: 4,
			opId: "slow-promote",
			waitMs: 0,
		});
		expect(again).toMatchObject({ ok: true, body: { status: "interrupted" } });
		expect((again.ok && (again.body as OperationRecord).steps[0]?.status) || "").toBe(
			"interrupted",
		);
	}, 30_000); // Starts one or two agent processes: seconds each on a loaded 2-core machine.

	it("refuses to start on an invalid config, naming the problem (exit 1)", async () => {
		const dir = await tempDir();
		const file = join(dir, "agent.json");
		await writeFile(file, JSON.stringify({ role: "standby" }));
		const run = spawnSync(process.execPath, [bundle, "serve", "--config", file], {
			encoding: "utf8",
		});
		expect(run.status).toBe(1);
		expect(run.stderr).toContain("watchdogPublicKeys: missing");
	});

	it("the package bin runs from a checkout (npx failover-agent)", () => {
		const root = resolve(import.meta.dirname, "../..");
		const run = spawnSync(
			process.execPath,
			[join(root, "agent/bin/failover-agent.mjs"), "check-config", "--help"],
			{
				encoding: "utf8",
			},
		);
		expect(run.status).toBe(0);
		expect(run.stdout).toContain("Usage: failover-agent check-config FILE");
	});
});
