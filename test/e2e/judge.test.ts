// The judge against real faults, end to end: a crash-looping primary, and the active standby going not ready.
import { describe, expect, it } from "vitest";
import { kinds, sleep, startLab } from "./support";

describe("the judge, end to end", () => {
	it("a crash-looping primary ends with the pair on the standby and failback held", async () => {
		const lab = await startLab({ minActiveSeconds: 2 });
		// Crash loop: down a few intervals, then ready a few intervals, over and over. Each crash lasts
		// past the promote going out: with self-fencing that is after the primary's lease (a primary
		// ready again within that wait is not failed over at all: nothing was sent).
		const down = 6 * lab.interval + lab.fenceWaitMs;
		for (let i = 0; i < 5; i++) {
			await lab.primaryGw.stop();
			await sleep(down);
			await lab.primaryGw.start();
			// The first return lasts long enough for a failback; later ones do not matter.
			await sleep((i === 0 ? 12 : 4) * lab.interval);
		}
		await lab.primaryGw.stop();
		await sleep(8 * lab.interval + lab.fenceWaitMs);
		const p = await lab.pair();
		const events = kinds(await lab.events());
		expect(p.active).toBe("standby");
		expect(p.state).toBe("standby-active");
		expect(events).not.toContain("held");
		expect(events).toContain("failback-held");
		expect(events.filter((k) => k === "demoted").length).toBeLessThanOrEqual(1);
	}, 240_000);

	it("the active standby going not ready raises the critical event", async () => {
		const lab = await startLab();
		const t = Date.now();
		await lab.primaryGw.stop();
		await lab.waitForEvent("promoted", t, 30 * lab.interval);
		// The standby's gateway dies while it serves; the primary is still down.
		const dead = Date.now();
		await lab.standbyGw.stop();
		const ev = await lab.waitForEvent("active-not-ready", dead, 20 * lab.interval);
		expect(ev.severity).toBe("critical");
		expect(ev.summary).toMatch(/the primary is not ready either/);
	});
});
