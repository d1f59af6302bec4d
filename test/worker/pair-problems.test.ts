// The judge's raised conditions reach the pair summary and /healthz (issue 9 §4): one sentence each, gone once cleared.
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../worker/src/config-cache";
import { initialState } from "../../worker/src/decide";
import { SILENT_AFTER_MS } from "../../worker/src/decide-watch";
import { healthReport } from "../../worker/src/health";
import { type PairSummary, pairProblems, restartGrace } from "../../worker/src/pair-view";
import { cfg, feed, OK, sbNoProbe, sbUp, T0, tick } from "./support/decide-fixtures";

describe("pair problems", () => {
	it("a silent standby witness is a problem while raised, and not once it votes again", () => {
		const steps = SILENT_AFTER_MS / 5_000 + 1;
		const silent = feed(
			initialState(T0),
			Array(steps).fill(tick(OK, sbNoProbe(0))),
			cfg(),
			T0,
		).state;
		expect(pairProblems(silent)).toEqual([
			expect.stringMatching(/standby witness has not been able to vote/),
		]);
		const back = feed(silent, [tick(OK, sbUp(0))], cfg(), T0 + steps * 5_000).state;
		expect(pairProblems(back)).toEqual([]);
		// Counting but not yet raised is not a problem.
		const early = feed(initialState(T0), [tick(OK, sbNoProbe(0))], cfg(), T0).state;
		expect(pairProblems(early)).toEqual([]);
	});

	it("/healthz lists each pair's problems and is not ok while any stands", () => {
		const raw = JSON.stringify({
			pairs: [
				{
					name: "home",
					primary: { readyUrl: "https://p.example.test/readyz" },
					standby: {
						agentUrl: "https://s.example.test",
						agentPublicKey: "ed25519:11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
					},
				},
			],
		});
		const config = loadConfig(raw);
		const summary: PairSummary = {
			name: "home",
			group: "default",
			watched: true,
			configErrors: [],
			state: "primary-active",
			active: "primary",
			term: 1,
			reason: "primary ready",
			since: T0,
			lastTickAt: T0,
			nextTickAt: T0 + 5_000,
			lastObservation: null,
			problems: ["the standby witness has not been able to vote (no probe)"],
		};
		const r = healthReport(config, [summary], [], T0 + 1_000);
		expect(r.ok).toBe(false);
		expect(r.problems).toEqual([
			"pair home: the standby witness has not been able to vote (no probe)",
		]);
		expect(healthReport(config, [{ ...summary, problems: [] }], [], T0 + 1_000).ok).toBe(true);
	});

	it("the summary says when the restart grace is off", () => {
		expect(restartGrace(cfg())).toMatch(/^off: no primary agent configured/);
		const withAgent = cfg({
			primary: { readyUrl: "http://127.0.0.1:9001/readyz", agentUrl: "http://127.0.0.1:9003" },
		});
		expect(restartGrace(withAgent)).toMatch(/^on: up to 180 s/);
	});
});
