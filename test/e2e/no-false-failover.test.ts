// End to end: what must NOT fail over. Single-probe blips, a worker-only partition (the Worker's route to the
// primary is broken while the standby still sees it), and a flapping primary that is damped, then held.
import { describe, expect, it } from "vitest";
import { intervals, kinds, recordTiming, sleep, startLab } from "./support";

describe("no false failover", () => {
	it("single-probe blips never promote", async () => {
		const lab = await startLab();
		// Exactly one failed probe at a time: the Worker's route fails one probe (a refused connection, or a
		// request cut on the kept-alive one and its retry refused), eight times.
		for (let i = 0; i < 8; i++) {
			lab.proxy.failNext(1);
			await sleep(lab.interval * 2);
		}
		// Every blip really was a failed probe (otherwise this test would prove nothing).
		expect(lab.proxy.refused).toBe(8);
		const detail = await lab.worker.api<{ observations: { ok: boolean }[] }>(
			"/api/v1/pairs/home?observations=100",
			{ token: lab.adminToken },
		);
		expect(detail.body.observations.filter((o) => !o.ok).length).toBeGreaterThanOrEqual(7);
		const p = await lab.pair();
		expect(p.state).toBe("primary-active");
		expect(kinds(await lab.events())).toEqual([]);
		expect(lab.standbyGw.running).toBe(false);
		recordTiming("blips", "false promotions", 0);
	});

	it("worker-only partition: the standby still sees the primary, so the watchdog suspects a partition and waits", async () => {
		const lab = await startLab();
		const t0 = Date.now();
		lab.proxy.break("refuse");
		const suspect = await lab.waitForEvent("suspect-partition", t0, 20 * lab.interval);
		expect(suspect.evidence.find((e) => e.witness === "standby")?.saw).toContain(
			"standby sees the primary up",
		);
		recordTiming("worker-only partition", "suspect-partition", intervals(suspect.at - t0, lab));
		// It stays suspicious without failing over, and notifies once.
		await sleep(8 * lab.interval);
		let p = await lab.pair();
		expect(p.state).toBe("suspect-partition");
		expect(p.active).toBe("primary");
		expect(lab.standbyGw.running).toBe(false);
		expect(
			lab.webhook.received.filter(
				(r) => (r.json as { event: { kind: string } }).event.kind === "suspect-partition",
			),
		).toHaveLength(1);

		// A black hole (probes time out) is the same partition, seen as timeouts.
		lab.proxy.break("blackhole");
		await sleep(4 * lab.interval);
		expect((await lab.pair()).state).toBe("suspect-partition");

		const healed = Date.now();
		lab.proxy.heal();
		await lab.waitForEvent("partition-cleared", healed, 10 * lab.interval);
		p = await lab.pair();
		expect(p.state).toBe("primary-active");
		expect(kinds(await lab.events())).not.toContain("promoting");
		recordTiming("worker-only partition", "false promotions", 0);
	});

	it("standby-only partition: the standby loses the primary but the Worker does not: no promotion, one witness-broken warning", async () => {
		const failThreshold = 3;
		const lab = await startLab({ failThreshold });
		lab.standbyRoute.break("refuse");
		await sleep(8 * lab.interval);
		const p = await lab.pair();
		expect(p.witnesses.standby.summary).toContain("standby sees the primary down");
		expect(p.state).toBe("primary-active");
		// Issue 9 §1, reverse disagreement: the standby's witness is broken (partition protection is off),
		// said once as a warning after failThreshold polls; nothing else happens, no promotion above all.
		const events = await lab.events();
		expect(kinds(events)).toEqual(["witness-broken"]);
		const broken = events.find((e) => e.kind === "witness-broken");
		expect(broken?.severity).toBe("warning");
		expect(broken?.summary).toContain("the standby's witness is broken");
		const detail = await lab.worker.api<{ observations: { at: number; standby: string | null }[] }>(
			"/api/v1/pairs/home?observations=100",
			{ token: lab.adminToken },
		);
		const downPollsBefore = detail.body.observations.filter(
			(o) => o.at <= (broken?.at ?? 0) && o.standby?.includes("standby sees the primary down"),
		);
		expect(downPollsBefore.length).toBeGreaterThanOrEqual(failThreshold);
		expect(lab.standbyGw.running).toBe(false);
	});

	it("flapping primary: damped by hysteresis both ways; failing again after a failback holds the next failback on the standby", async () => {
		const lab = await startLab({ minActiveSeconds: 2 });
		const t1 = Date.now();
		await lab.primaryGw.stop();
		await lab.waitForEvent("promoted", t1, 30 * lab.interval);
		// While the standby serves, the primary flickers: one good probe must not fail back.
		for (let i = 0; i < 3; i++) {
			await lab.primaryGw.start();
			await sleep(lab.interval / 2);
			await lab.primaryGw.stop();
			await sleep(lab.interval);
		}
		expect((await lab.pair()).state).toBe("standby-active");
		const back = Date.now();
		await lab.primaryGw.start();
		const demoted = await lab.waitForEvent("demoted", back, 40 * lab.interval);
		recordTiming("flapping", "demote after primary back", intervals(demoted.at - back, lab));
		// The primary fails again within the hour: the failover happens, the failback is held.
		const t2 = Date.now();
		await lab.primaryGw.stop();
		await lab.waitForEvent("failback-held", t2, 30 * lab.interval);
		await lab.waitForEvent("promoted", t2, 30 * lab.interval);
		await lab.primaryGw.start();
		await sleep(15 * lab.interval);
		const p = await lab.pair();
		expect(p.state).toBe("standby-active");
		expect(p.reason).toBe("primary flapping, failback held; resume or fail back by hand");
		expect(kinds(await lab.events()).filter((k) => k === "demoting")).toHaveLength(1);
		// The operator resumes: the failback follows once the primary has been ready long enough.
		expect((await lab.operator("resume")).status).toBe(200);
		await lab.waitForEvent("demoted", Date.now() - 100, 40 * lab.interval);
	});

	it("a primary answering 403 to both probes is never promoted, and says so once", async () => {
		const lab = await startLab();
		lab.primaryGw.mode = "forbidden";
		await sleep(12 * lab.interval);
		const p = await lab.pair();
		expect(p.state).toBe("primary-active");
		const events = await lab.events();
		expect(kinds(events).filter((k) => k === "promoting")).toEqual([]);
		expect(kinds(events).filter((k) => k === "config-problem")).toHaveLength(2);
		expect(events.find((e) => e.kind === "config-problem")?.summary).toMatch(/HTTP 403/);
		expect(lab.standbyGw.running).toBe(false);
		recordTiming("refusing primary (403)", "false promotions", 0);
	});
});
