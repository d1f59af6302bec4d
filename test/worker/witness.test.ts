// Witness votes and the quorum rule, one function at a time.
import { describe, expect, it } from "vitest";
import type { Vote } from "../../worker/src/types";
import {
	describeProbe,
	describeStandby,
	describeTailscale,
	otherVotes,
	standbyStaleAfterMs,
	standbyVote,
	tailscaleVote,
	tickEvidence,
	type Verdict,
	verdict,
	type WitnessVote,
} from "../../worker/src/witness";
import {
	cfg,
	cfgTailscale,
	FAIL,
	HTTP503,
	OK,
	REFUSED,
	SB_GONE,
	sbDown,
	sbNoProbe,
	sbStale,
	sbUp,
	TS_DOWN,
	TS_ERR,
	TS_UP,
} from "./support/decide-fixtures";

describe("standbyStaleAfterMs", () => {
	it.each([
		[1, 15_000],
		[5, 15_000],
		[6, 18_000],
		[60, 180_000],
	])(
		"interval %i s -> a standby probe is stale after %i ms (3 intervals, never under 15 s)",
		(sec, ms) => {
			expect(standbyStaleAfterMs(cfg({ probeIntervalSeconds: sec, probeTimeoutMs: 500 }))).toBe(ms);
		},
	);
});

describe("standbyVote", () => {
	const c = cfg();
	const fresh = (ageMs: number, ok: boolean) => {
		const v = ok ? sbUp() : sbDown();
		if (!v.reachable || !v.primary) throw new Error("fixture");
		return { ...v, primary: { ...v.primary, ageMs } };
	};
	it.each<[string, Parameters<typeof standbyVote>[0], Vote]>([
		["not polled", undefined, "unknown"],
		["unreachable (unknown, never down)", SB_GONE, "unknown"],
		["no primary probe configured", sbNoProbe(), "unknown"],
		["stale probe that saw it down", sbStale(false), "unknown"],
		["stale probe that saw it up", sbStale(true), "unknown"],
		["fresh up", sbUp(), "up"],
		["fresh down", sbDown(), "down"],
		["down, exactly at the staleness limit (still counts)", fresh(15_000, false), "down"],
		["down, 1 ms past the staleness limit", fresh(15_001, false), "unknown"],
	])("%s -> %s", (_name, view, vote) => {
		expect(standbyVote(view, c)).toBe(vote);
	});
});

describe("tailscaleVote", () => {
	it.each<[string, Parameters<typeof tailscaleVote>[0], Vote]>([
		["not polled", undefined, "unknown"],
		["API error", TS_ERR, "unknown"],
		["connected", TS_UP, "up"],
		["not connected", TS_DOWN, "down"],
	])("%s -> %s", (_n, view, vote) => {
		expect(tailscaleVote(view)).toBe(vote);
	});
});

describe("otherVotes", () => {
	it("counts the standby when it is a witness and was gathered", () => {
		expect(otherVotes(cfg(), sbDown(), undefined)).toEqual([
			{ witness: "standby", vote: "down", level: "gateway" },
		]);
	});
	it("a standby that was not gathered this tick is not a vote at all (not even unknown)", () => {
		expect(otherVotes(cfg(), undefined, undefined)).toEqual([]);
	});
	it("an unreachable standby is an unknown vote", () => {
		expect(otherVotes(cfg(), SB_GONE, undefined)).toEqual([
			{ witness: "standby", vote: "unknown", level: "gateway" },
		]);
	});
	it("ignores the standby's view when the standby is not a witness", () => {
		expect(otherVotes(cfg({ witnesses: { standby: false } }), sbUp(), undefined)).toEqual([]);
	});
	it("ignores a Tailscale view when Tailscale is not configured", () => {
		expect(otherVotes(cfg(), sbDown(), TS_UP)).toEqual([
			{ witness: "standby", vote: "down", level: "gateway" },
		]);
	});
	it("counts Tailscale when configured", () => {
		expect(otherVotes(cfgTailscale(), sbDown(), TS_ERR)).toEqual([
			{ witness: "standby", vote: "down", level: "gateway" },
			{ witness: "tailscale", vote: "unknown", level: "host" },
		]);
	});
});

describe("verdict (k-of-n among the other witnesses)", () => {
	const v = (...votes: Vote[]): WitnessVote[] =>
		votes.map((vote, i) =>
			i === 0
				? { witness: "standby", vote, level: "gateway" }
				: { witness: "tailscale", vote, level: "host" },
		);
	it.each<[string, WitnessVote[], "all" | number, Verdict]>([
		["no other witness", [], "all", "alone"],
		["no other witness, numeric quorum", [], 2, "alone"],
		["all: one down", v("down"), "all", "down"],
		["all: one up", v("up"), "all", "disagree"],
		["all: one unknown", v("unknown"), "all", "unconfirmed"],
		["all: down + down", v("down", "down"), "all", "down"],
		// Tailscale (second) is host-level: its "up" never outvotes the standby's gateway-level down.
		["all: down + host up", v("down", "up"), "all", "down"],
		["all: down + unknown (unknown is not a vote against)", v("down", "unknown"), "all", "down"],
		["all: unknown + unknown", v("unknown", "unknown"), "all", "unconfirmed"],
		["all: up + unknown", v("up", "unknown"), "all", "disagree"],
		["1-of-n: down + up (one down suffices)", v("down", "up"), 1, "down"],
		[
			"1-of-n: unknown + host up (counts: no gateway-level vote)",
			v("unknown", "up"),
			1,
			"disagree",
		],
		["1-of-n: unknown", v("unknown"), 1, "unconfirmed"],
		["2-of-n: down + down", v("down", "down"), 2, "down"],
		["2-of-n: down + unknown", v("down", "unknown"), 2, "unconfirmed"],
		["2-of-n: down + host up (host up not counted)", v("down", "up"), 2, "unconfirmed"],
		["2-of-n: up + host down", v("up", "down"), 2, "disagree"],
		["2-of-n with one witness: never down", v("down"), 2, "unconfirmed"],
	])("%s -> %s", (_n, votes, quorum, out) => {
		expect(verdict(votes, quorum)).toBe(out);
	});
});

describe("descriptions (evidence text)", () => {
	it.each([
		[OK, 0, 3, "probe ok: HTTP 200 in 14 ms (3 good in a row)"],
		[FAIL, 2, 0, "probe failed: timeout after 2500 ms (2 failed in a row)"],
		[REFUSED, 1, 0, "probe failed: connect error (ECONNREFUSED) (1 failed in a row)"],
		[HTTP503, 3, 0, "probe failed: HTTP 503 (3 failed in a row)"],
		[
			{ ok: false as const, reason: "body-mismatch" as const, status: 200, ms: 5 },
			1,
			0,
			"probe failed: body did not match (HTTP 200) (1 failed in a row)",
		],
	])("describeProbe %j", (probe, fails, oks, text) => {
		expect(describeProbe(probe, fails, oks)).toBe(text);
	});

	it("describeStandby says which case it is", () => {
		const c = cfg();
		expect(describeStandby(undefined, c)).toBe("not polled");
		expect(describeStandby(SB_GONE, c)).toMatch(/unreachable: timeout after 4000 ms/);
		expect(describeStandby(sbNoProbe(), c)).toMatch(/does not probe the primary/);
		expect(describeStandby(sbStale(), c)).toMatch(/stale \(60 s ago\)/);
		expect(describeStandby(sbUp(), c)).toMatch(/sees the primary up \(7 good in a row, 1 s ago\)/);
		expect(describeStandby(sbDown(), c)).toMatch(/sees the primary down: timeout \(4 failed/);
	});

	it("describeTailscale", () => {
		expect(describeTailscale(undefined)).toBe("not polled");
		expect(describeTailscale(TS_ERR)).toMatch(/unavailable: HTTP 500/);
		expect(describeTailscale(TS_UP)).toMatch(/^primary device connected/);
		expect(describeTailscale(TS_DOWN)).toMatch(/NOT connected/);
	});

	it("tickEvidence lists only the witnesses gathered, the Worker first", () => {
		const c = cfgTailscale();
		expect(tickEvidence(FAIL, 3, 0, undefined, undefined, c).map((e) => e.witness)).toEqual([
			"worker",
		]);
		expect(tickEvidence(FAIL, 3, 0, sbDown(), TS_DOWN, c).map((e) => e.witness)).toEqual([
			"worker",
			"standby",
			"tailscale",
		]);
	});
});

describe("evidence levels (verdict with the Worker's own level)", () => {
	const sb = (vote: Vote): WitnessVote => ({ witness: "standby", vote, level: "gateway" });
	const ts = (vote: Vote): WitnessVote => ({ witness: "tailscale", vote, level: "host" });
	it.each<[string, WitnessVote[], "all" | number, "service" | "connection", Verdict]>([
		// The input: 503 on every tick, standby down, Tailscale connected, quorum all.
		["service: standby down + host up", [sb("down"), ts("up")], "all", "service", "down"],
		["service: standby unknown + host up", [sb("unknown"), ts("up")], "all", "service", "down"],
		["service: standby unknown only", [sb("unknown")], "all", "service", "down"],
		[
			"service: standby up (the gateway answers it)",
			[sb("up"), ts("up")],
			"all",
			"service",
			"disagree",
		],
		["service: numeric quorum 2, one down", [sb("down"), ts("unknown")], 2, "service", "down"],
		[
			"connection: standby unknown + host up -> partition",
			[sb("unknown"), ts("up")],
			"all",
			"connection",
			"disagree",
		],
		[
			"connection: standby unknown + host down",
			[sb("unknown"), ts("down")],
			"all",
			"connection",
			"down",
		],
		["connection: standby down + host up", [sb("down"), ts("up")], "all", "connection", "down"],
		["connection: standby up + host down", [sb("up"), ts("down")], "all", "connection", "disagree"],
		["connection: only host up", [ts("up")], "all", "connection", "disagree"],
		["service: only host up", [ts("up")], "all", "service", "down"],
	])("%s -> %s", (_n, votes, quorum, level, out) => {
		expect(verdict(votes, quorum, level)).toBe(out);
	});

	it("property: a host-level up never turns a verdict against a gateway-level down", () => {
		const votes: Vote[] = ["up", "down", "unknown"];
		for (const sv of votes)
			for (const quorum of ["all", 1, 2] as const)
				for (const level of ["service", "connection"] as const) {
					const withUp = verdict([sb(sv), ts("up")], quorum, level);
					const without = verdict([sb(sv), ts("unknown")], quorum, level);
					if (sv === "down" || level === "service")
						expect(withUp, `${sv} ${quorum} ${level}`).toBe(without);
				}
	});
});
