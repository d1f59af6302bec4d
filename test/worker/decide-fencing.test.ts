// Fencing, the watchdog's half (issue 13): a decided promotion waits until the primary's lease has run out plus a margin.
import { describe, expect, it } from "vitest";
import { initialState } from "../../worker/src/decide";
import { promoteNotBefore } from "../../worker/src/fencing-wait";
import type { Observation } from "../../worker/src/types";
import { cfg, FAIL, feed, OK, run, sbDown, T0, tick } from "./support/decide-fixtures";

const AGENT = { readyUrl: "http://127.0.0.1:9001/readyz", agentUrl: "http://127.0.0.1:9003" };
const withLease = (o: Observation, at: number | undefined): Observation =>
	o.kind === "tick" && at !== undefined ? { ...o, primaryLeaseSentAt: at } : o;

describe("promoteNotBefore", () => {
	it.each([
		["self, primary agent, lease sent now", { primary: AGENT }, 0, 35_000],
		["self, lease sent 20 s ago", { primary: AGENT }, -20_000, 15_000],
		["self, lease sent long ago (dial-out socket gone)", { primary: AGENT }, -120_000, 0],
		[
			"self, shell does not know (after an eviction): from now",
			{ primary: AGENT },
			undefined,
			35_000,
		],
		[
			"self, leaseSeconds 60, margin 10",
			{ primary: AGENT, leaseSeconds: 60, fenceMarginSeconds: 10 },
			0,
			70_000,
		],
		// Before its first lease the primary's agent fences on the protocol's default (30 s from its
		// own start): a shorter configured lease must not shorten the wait then.
		[
			"self, leaseSeconds 3, lease sent now",
			{ primary: AGENT, probeIntervalSeconds: 1, probeTimeoutMs: 600, leaseSeconds: 3 },
			0,
			8_000,
		],
		[
			"self, leaseSeconds 3, no lease ever reached the agent",
			{ primary: AGENT, probeIntervalSeconds: 1, probeTimeoutMs: 600, leaseSeconds: 3 },
			undefined,
			35_000,
		],
		[
			"self, leaseSeconds 10, margin 2, no lease ever reached the agent",
			{
				primary: AGENT,
				probeIntervalSeconds: 1,
				probeTimeoutMs: 600,
				leaseSeconds: 10,
				fenceMarginSeconds: 2,
			},
			undefined,
			32_000,
		],
		[
			"self, leaseSeconds 60, no lease ever reached the agent",
			{ primary: AGENT, leaseSeconds: 60 },
			undefined,
			65_000,
		],
		["off", { primary: AGENT, fencing: "off" }, 0, 0],
		["no primary agent: nothing to fence", {}, 0, 0],
	] as const)("%s -> waits %i ms", (_n, over, sentOffset, wait) => {
		const now = T0 + 1_000_000;
		const sent = sentOffset === undefined ? undefined : now + sentOffset;
		expect(promoteNotBefore(cfg(over), now, sent) - now).toBe(wait);
	});
});

describe("decide() with fencing", () => {
	const c = cfg({ primary: AGENT });
	const down = (at?: number) => withLease(tick(FAIL, sbDown()), at);

	it("decides at the threshold, but sends the promote only when the wait is over", () => {
		const sentAt = T0 + 10_000; // the last tick on which the primary still held its lease
		const r = feed(initialState(T0), [down(sentAt), down(sentAt), down(sentAt)], c, T0);
		expect(r.state.state).toBe("promoting");
		expect(r.state.pending).toBeNull();
		expect(r.state.promoteAfter).toBe(sentAt + 35_000);
		expect(r.decisions.flatMap((d) => d.commands)).toEqual([]);
		const promoting = r.decisions.flatMap((d) => d.events).find((e) => e.kind === "promoting");
		expect(promoting?.summary).toMatch(/after the primary's lease has run out: fencing/);
		// Ticks inside the wait send nothing; the first one after it sends the promote.
		const during = run(r.state, down(), c, sentAt + 30_000);
		expect(during.commands).toEqual([]);
		const after = run(during.state, down(), c, sentAt + 35_000);
		expect(after.commands).toEqual([
			{ action: "promote", target: "standby", term: 1, opId: "home:promote:t1:a1" },
		]);
		expect(after.state.promoteAfter).toBeNull();
	});

	it("a primary ready again during the wait is not failed over (nothing was sent)", () => {
		const r = feed(initialState(T0), [down(), down(), down()], c, T0);
		const back = feed(r.state, [tick(OK), tick(OK), tick(OK)], c, T0 + 20_000);
		expect(back.state.state).toBe("primary-active");
		expect(back.state.failovers).toEqual([]);
		expect(back.decisions.flatMap((d) => d.commands)).toEqual([]);
	});

	it("after the wait, a primary answering on that tick holds the promote until it fails again", () => {
		const r = feed(initialState(T0), [down(), down(), down()], c, T0);
		const late = (r.state.promoteAfter ?? 0) + 1;
		const answering = run(r.state, tick(OK), c, late);
		expect(answering.commands).toEqual([]);
		const failsAgain = run(answering.state, down(), c, late + 5_000);
		expect(failsAgain.commands.map((x) => x.action)).toEqual(["promote"]);
	});

	it("fencing off: the promote goes out on the deciding tick, as before", () => {
		const r = feed(
			initialState(T0),
			[down(), down(), down()],
			cfg({ primary: AGENT, fencing: "off" }),
			T0,
		);
		expect(r.decisions.flatMap((d) => d.commands).map((x) => x.action)).toEqual(["promote"]);
	});

	it("a config whose lease is shorter than three intervals names the field", async () => {
		const { parseWatchConfig } = await import("../../worker/src/config");
		const w = parseWatchConfig(
			{
				pairs: [
					{
						name: "home",
						primary: { readyUrl: "https://p.example.test/readyz" },
						standby: {
							agentUrl: "https://s.example.test",
							agentPublicKey: "ed25519:11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
						},
						probeIntervalSeconds: 10,
						leaseSeconds: 20,
					},
				],
			},
			{ localDevelopment: false },
		);
		expect(w.errors.map((e) => e.path)).toEqual(["pairs[0].leaseSeconds"]);
	});
});
