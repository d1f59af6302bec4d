// A first deployment as a new user makes it: init (unattended), the Worker run with init's files, then doctor.
import { describe, expect, it } from "vitest";
import { runOperatorCli } from "../../operator/src/cli";
import { startLab } from "./support";

async function gatewayDoctor(url: string, token: string) {
	const out: string[] = [];
	const code = await runOperatorCli(
		["doctor", "--url", url],
		{ out: (t) => out.push(t), err: (t) => out.push(t) },
		{ env: { ADMIN_TOKEN: token }, fetch },
	);
	return { code, text: out.join("") };
}

describe("init, deploy, doctor", () => {
	it("a deployment made by init watches the pair, and doctor says a failover would work", async () => {
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

		// And it notices a broken piece: the standby agent down makes the verdict fail with the fix.
		await lab.standbyAgent.kill();
		const broken = await gatewayDoctor(lab.worker.url, lab.adminToken);
		expect(broken.code).toBe(1);
		expect(broken.text).toMatch(/FAIL standby agent: /);
		expect(broken.text).toMatch(/fix: curl -s http:\/\/127\.0\.0\.1:\d+\/healthz/);
	});
});
