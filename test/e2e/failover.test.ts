// End to end: hard-down failover and failback without data loss, slow primary, primary back during promotion,
// webhook receiver down. Real Worker in workerd, real agents, stand-in gateways, a real git remote; 1 s probes.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { verifyWebhookSignature } from "../../worker/src/notify/webhook-signature";
import { git, readIfExists } from "../harness/git-workspace";
import { waitFor } from "../harness/ports";
import { intervals, kinds, recordTiming, sleep, startLab, TRANSPORT } from "./support";

describe("failover and failback", () => {
	it(
		"hard-down: promotes once the witnesses agree, fails back, and the standby's file reaches the primary",
		TRANSPORT,
		async () => {
			const lab = await startLab();
			const t0 = Date.now();
			await lab.primaryGw.stop();

			const promoting = await lab.waitForEvent("promoting", t0, 20 * lab.interval);
			const promoted = await lab.waitForEvent("promoted", t0, 30 * lab.interval);
			// The promotion's evidence shows both witnesses (the Worker's probe and the standby's own view),
			// then each agent's report on its own gateway: the primary's is stopped, not starting.
			expect(promoting.evidence.map((e) => e.witness)).toEqual([
				"worker",
				"standby",
				"agent",
				"agent",
			]);
			expect(promoting.evidence[1]?.saw).toContain("standby sees the primary down");
			expect(promoting.evidence[3]?.saw).toMatch(/stopped/);
			expect(lab.standbyGw.running).toBe(true);
			const toCommand = intervals(promoting.at - t0, lab);
			const toReady = intervals(promoted.at - t0, lab);
			recordTiming("hard-down", "promote command", toCommand);
			recordTiming("hard-down", "standby ready", toReady);
			// failThreshold is 3: the command cannot go out before the third failed probe.
			expect(toCommand).toBeGreaterThanOrEqual(2);

			// While the standby serves, OpenClaw writes to its workspace.
			writeFileSync(join(lab.ws.standby, "written-during-outage.md"), "remember this\n");

			const back = Date.now();
			await lab.primaryGw.start();
			const demoted = await lab.waitForEvent("demoted", back, 40 * lab.interval);
			await lab.waitForEvent("synced", back, 20 * lab.interval);
			recordTiming("hard-down", "demote after primary back", intervals(demoted.at - back, lab));
			// recoverThreshold 3 and minActiveSeconds 3: no failback on the first good probe.
			expect(demoted.at - back).toBeGreaterThanOrEqual(2 * lab.interval);

			const p = await lab.pair();
			expect(p.state).toBe("primary-active");
			expect(lab.standbyGw.running).toBe(false);
			expect(readIfExists(lab.ws.primary, "written-during-outage.md")).toBe("remember this\n");
			expect(git(lab.ws.primary, "log", "-1", "--format=%s")).toMatch(/failover-gateway/);
			expect(kinds(await lab.events())).toEqual([
				"promoting",
				"promoted",
				"demoting",
				"demoted",
				"synced",
			]);

			// Every notification arrived, signed so the receiver can verify it.
			const titles: string[] = [];
			for (const r of lab.webhook.received) {
				const v = await verifyWebhookSignature(
					lab.webhookSecret,
					r.body,
					new Headers(r.headers as Record<string, string>),
				);
				expect(v.ok).toBe(true);
				titles.push((r.json as { event: { kind: string } }).event.kind);
			}
			expect(titles).toEqual(["promoting", "promoted", "demoting", "demoted"]);
		},
	);

	it("slow primary: probes that time out count as failures, and the standby takes over", async () => {
		const lab = await startLab();
		lab.primaryGw.slowMs = 30_000;
		const t0 = Date.now();
		lab.primaryGw.mode = "slow";
		const promoting = await lab.waitForEvent("promoting", t0, 20 * lab.interval);
		expect(promoting.evidence[0]?.saw).toContain("timeout");
		const promoted = await lab.waitForEvent("promoted", t0, 30 * lab.interval);
		recordTiming("slow primary", "promote command", intervals(promoting.at - t0, lab));
		recordTiming("slow primary", "standby ready", intervals(promoted.at - t0, lab));
	});

	it("primary back during promotion: the promotion completes, then one failback, no flapping", async () => {
		const lab = await startLab();
		// A gateway that takes 3 intervals to start keeps the promotion in flight.
		lab.control.startDelayMs = 3 * lab.interval;
		const t0 = Date.now();
		await lab.primaryGw.stop();
		await lab.waitForEvent("promoting", t0, 20 * lab.interval);
		// Back once the promote is out and running: the standby's gateway start has begun. Over HTTP
		// that is at once; with self-fencing (dial-out) the promote first waits for the primary's lease,
		// and a primary back within that wait is simply not failed over (nothing was sent), which is
		// another scenario.
		await waitFor(
			"the standby's gateway start to begin",
			() => lab.control.calls.includes("start standby"),
			30 * lab.interval,
		);
		await lab.primaryGw.start();
		const promoted = await lab.waitForEvent("promoted", t0, 30 * lab.interval);
		const demoted = await lab.waitForEvent("demoted", promoted.at, 40 * lab.interval);
		recordTiming("primary back during promotion", "promote done", intervals(promoted.at - t0, lab));
		recordTiming(
			"primary back during promotion",
			"demote after promotion",
			intervals(demoted.at - promoted.at, lab),
		);
		await sleep(3 * lab.interval);
		const ks = kinds(await lab.events());
		expect(ks.filter((k) => k === "promoting")).toHaveLength(1);
		expect(ks.filter((k) => k === "demoting")).toHaveLength(1);
		expect((await lab.pair()).state).toBe("primary-active");
	});

	it("webhook endpoint down: the failover is not delayed, and the failed delivery shows in status", async () => {
		const lab = await startLab();
		lab.webhook.failing = true;
		const t0 = Date.now();
		await lab.primaryGw.stop();
		const promoted = await lab.waitForEvent("promoted", t0, 30 * lab.interval);
		recordTiming("webhook down", "standby ready", intervals(promoted.at - t0, lab));
		// Delivery retries take seconds; the promotion did not wait for them (only, with self-fencing,
		// for the primary's lease to run out, as every promotion does).
		expect(promoted.at - t0).toBeLessThan(15 * lab.interval + lab.fenceWaitMs);
		await sleep(5_000); // 3 attempts with 1 s and 2 s backoff
		const p = await lab.pair();
		expect(p.notifications.last.webhook).toMatchObject({ ok: false, attempts: 3 });
		const failures = (await lab.events()).filter(
			(e) => e.kind === "notification" && e.severity === "warning",
		);
		expect(failures.length).toBeGreaterThan(0);
		expect(failures[0]?.summary).toContain("webhook failed after 3 attempt(s)");
		expect(failures[0]?.summary).toContain("kept in the outbox");
		expect(lab.webhook.failedRequests).toBeGreaterThanOrEqual(3);
		expect(p.notifications.outbox.waiting).toBeGreaterThan(0);

		// The endpoint comes back: the alerts that waited are delivered by a later alarm (the first
		// retry is 30 s after the failure), signed, and the outbox empties.
		lab.webhook.failing = false;
		const deadline = Date.now() + 60_000;
		let after = await lab.pair();
		while (after.notifications.outbox.waiting > 0 && Date.now() < deadline) {
			await sleep(1_000);
			after = await lab.pair();
		}
		expect(after.notifications.outbox.waiting).toBe(0);
		const delivered = lab.webhook.received.map(
			(r) => (r.json as { event: { kind: string } }).event.kind,
		);
		expect(delivered).toContain("promoting");
		const late = (await lab.events()).filter(
			(e) => e.kind === "notification" && /on attempt \d+, \d+ s late/.test(e.summary),
		);
		expect(late.length).toBeGreaterThan(0);
	}, 180_000);
});
