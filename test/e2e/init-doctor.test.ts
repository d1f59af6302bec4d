// A first deployment as a new user makes it: init (unattended), the Worker run with init's files, then doctor.
import { mkdtempSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { formatChecks, runDoctor } from "../../agent/src/commands/doctor";
import { runCommand } from "../../agent/src/steps/run-command";
import { runOperatorCli } from "../../operator/src/cli";
import { writeFakeSystemTools } from "../harness/fake-system-tools";
import type { Lab } from "../harness/lab";
import { startLab, TRANSPORT } from "./support";

/** `failover-agent doctor` on the lab's standby agent config: real git and network, fake systemd tools. */
async function agentDoctor(lab: Lab) {
	const bin = mkdtempSync(join(lab.root, "fake-bin-"));
	writeFakeSystemTools(bin);
	const log = join(bin, "systemctl.log");
	writeFileSync(log, "");
	return runDoctor(
		join(lab.root, "standby-agent.json"),
		{
			run: runCommand,
			env: { PATH: `${bin}:${process.env.PATH ?? ""}`, FAKE_LOG: log },
			fetch,
			user: { name: "openclaw", uid: 4242, home: lab.root },
			now: Date.now,
			exists: async () => true,
		},
		// No --time-url: local workerd answers without a Date header (Cloudflare's edge adds one).
	);
}

async function gatewayDoctor(url: string, token: string, ...extra: string[]) {
	const out: string[] = [];
	const code = await runOperatorCli(
		["doctor", "--url", url, ...extra],
		{ out: (t) => out.push(t), err: (t) => out.push(t) },
		{ env: { ADMIN_TOKEN: token }, fetch },
	);
	return { code, text: out.join("") };
}

describe("init, deploy, doctor", () => {
	it(
		"a deployment made by init watches the pair, and doctor says a failover would work",
		TRANSPORT,
		async () => {
			const lab = await startLab({ viaInit: true });
			expect(lab.initOutput).toMatch(/^1\. \[your machine\] Build the agent bundle/m);
			// The loop reaches primary-active (Lab waits for it); the standby's first probes may still be pending.
			let result = await gatewayDoctor(lab.worker.url, lab.adminToken);
			for (let i = 0; i < 20 && result.code !== 0; i++) {
				await new Promise((r) => setTimeout(r, lab.interval));
				result = await gatewayDoctor(lab.worker.url, lab.adminToken);
			}
			expect(result.text).toMatch(/pair home: a failover would work/);
			expect(result.code).toBe(0);

			// --notify sends one test message through every notifier (the lab's signed webhook).
			const before = lab.webhook.received.length;
			const notified = await gatewayDoctor(lab.worker.url, lab.adminToken, "--notify");
			expect(notified.text).toMatch(/ok {3}notifications: test message delivered to webhook/);
			expect(notified.code).toBe(0);
			const sent = lab.webhook.received.slice(before).map((r) => JSON.stringify(r.json));
			expect(sent.join("\n")).toContain("Test message from failover-gateway doctor");

			// On the standby, the agent's own doctor passes too: the lab's git remote and the route to the
			// primary are real; systemd and the clock are the fakes of a healthy host.
			const checks = await agentDoctor(lab);
			expect(formatChecks(checks)).not.toMatch(/^FAIL/m);
			expect(checks.map((c) => c.name)).toEqual(
				expect.arrayContaining(["config", "git push", "primary readiness", "clock"]),
			);

			// And it notices a broken piece: the standby agent down makes the verdict fail with the fix.
			await lab.standbyAgent.kill();
			const broken = await gatewayDoctor(lab.worker.url, lab.adminToken);
			expect(broken.code).toBe(1);
			expect(broken.text).toMatch(/FAIL standby agent: /);
			// The fix names the transport's own way in: the agent's URL (endpoint), its service and log (dial-out).
			expect(broken.text).toMatch(
				lab.transport === "dial-out"
					? /FAIL standby agent: dials out: not connected[^\n]*\n[^\n]*fix: on the standby: systemctl status failover-agent/
					: /fix: curl -s http:\/\/127\.0\.0\.1:\d+\/healthz/,
			);
		},
	);
});
