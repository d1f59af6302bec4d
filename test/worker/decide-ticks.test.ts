// decide() on probe ticks: every state x the witness views that matter, as one table.
import { describe, it } from "vitest";
import {
	cfg,
	cfgTailscale,
	cmd,
	FAIL,
	HTTP503,
	NOW,
	OK,
	pending,
	REFUSED,
	SB_GONE,
	sbDown,
	sbNoProbe,
	sbStale,
	sbUp,
	TS_DOWN,
	TS_ERR,
	TS_UP,
	tick,
} from "./support/decide-fixtures";
import {
	BD,
	BDD,
	BDP,
	BDS,
	DEM,
	HELD,
	HELD_S,
	PA,
	PA2,
	PAS,
	PAUSED,
	PAUSED_PROM,
	PROM,
	SA,
	SA5,
	SP,
} from "./support/decide-states";
import { checkRow, type Row } from "./support/decide-table";

const MIN = 60_000;
const promote2 = { state: "promoting", term: 2, commands: [cmd("promote", 2)] } as const;
const promoted2 = {
	...promote2,
	events: ["promoting"],
	pending: pending("promote", 2, 1, NOW),
} as const;

const primaryActive: Row[] = [
	{
		name: "probe ok, standby sees up",
		from: PA,
		obs: tick(OK, sbUp(1)),
		want: { state: "primary-active" },
	},
	{
		name: "1st failure (below threshold)",
		from: PA,
		obs: tick(FAIL, sbDown(1)),
		want: { state: "primary-active", check: (s) => void (s.fails === 1 || fail("fails")) },
	},
	{
		name: "2nd failure (below threshold)",
		from: { ...PA, fails: 1 },
		obs: tick(FAIL, sbDown(1)),
		want: { state: "primary-active" },
	},
	{
		name: "3rd failure (at threshold), standby agrees -> promote term 2",
		from: PA2,
		obs: tick(FAIL, sbDown(1)),
		want: promoted2,
	},
	{
		name: "at threshold via HTTP 503 (any failure reason counts)",
		from: PA2,
		obs: tick(HTTP503, sbDown(1)),
		want: promoted2,
	},
	{
		name: "at threshold via connect error",
		from: PA2,
		obs: tick(REFUSED, sbDown(1)),
		want: promoted2,
	},
	{
		name: "at threshold, standby sees up -> suspect-partition",
		from: PA2,
		obs: tick(FAIL, sbUp(1)),
		want: { state: "suspect-partition", events: ["suspect-partition"] },
	},
	{
		name: "at threshold, standby probe stale -> suspect-partition (unconfirmed)",
		from: PA2,
		obs: tick(FAIL, sbStale(false, 1)),
		want: { state: "suspect-partition", events: ["suspect-partition"] },
	},
	{
		name: "at threshold, standby has no probe -> suspect-partition (unconfirmed)",
		from: PA2,
		obs: tick(FAIL, sbNoProbe(1)),
		want: { state: "suspect-partition", events: ["suspect-partition"] },
	},
	{
		name: "at threshold, standby missed ONE poll -> wait a tick, nothing critical (issue 9 §6)",
		from: PA2,
		obs: tick(FAIL, SB_GONE),
		want: { state: "primary-active", check: (s) => void (s.standbyMisses === 1 || fail("misses")) },
	},
	{
		name: "at threshold, standby unreachable failThreshold polls -> both-down, no promote",
		from: { ...PA2, standbyMisses: 2 },
		obs: tick(FAIL, SB_GONE),
		want: { state: "both-down", events: ["both-down"] },
	},
	{
		name: "at threshold, standby not polled and no other witness -> the probe alone decides",
		from: PA2,
		obs: tick(FAIL),
		want: promoted2,
	},
	{
		name: "at threshold, standby not a witness: its 'up' view is ignored, the probe alone decides",
		from: PA2,
		obs: tick(FAIL, sbUp(1)),
		config: cfg({ witnesses: { standby: false } }),
		want: promoted2,
	},
	{
		name: "tailscale: standby down + tailscale up -> promote (a host-level up never outvotes the gateway-level down)",
		from: PA2,
		obs: tick(FAIL, sbDown(1), TS_UP),
		config: cfgTailscale(),
		want: promoted2,
	},
	{
		name: "tailscale: standby has no probe + tailscale up, timeouts -> suspect-partition (host up, path broken)",
		from: PA2,
		obs: tick(FAIL, sbNoProbe(1), TS_UP),
		config: cfgTailscale(),
		want: { state: "suspect-partition", events: ["suspect-partition"] },
	},
	{
		name: "tailscale: standby down + tailscale down -> promote",
		from: PA2,
		obs: tick(FAIL, sbDown(1), TS_DOWN),
		config: cfgTailscale(),
		want: promoted2,
	},
	{
		name: "tailscale: standby down + tailscale error (unknown is not a vote against) -> promote",
		from: PA2,
		obs: tick(FAIL, sbDown(1), TS_ERR),
		config: cfgTailscale(),
		want: promoted2,
	},
	{
		name: "tailscale: standby stale + tailscale error -> suspect-partition (unconfirmed)",
		from: PA2,
		obs: tick(FAIL, sbStale(false, 1), TS_ERR),
		config: cfgTailscale(),
		want: { state: "suspect-partition", events: ["suspect-partition"] },
	},
	{
		// Host-level evidence confirms, but never outvotes the standby seeing the gateway up (issue 9 §1).
		name: "quorum 1: standby up + tailscale down -> suspect-partition (a host-level down is no veto on up)",
		from: PA2,
		obs: tick(FAIL, sbUp(1), TS_DOWN),
		config: cfgTailscale({ witnesses: { quorum: 1 } }),
		want: { state: "suspect-partition", events: ["suspect-partition"] },
	},
	{
		name: "quorum 2: standby down + tailscale error -> suspect-partition",
		from: PA2,
		obs: tick(FAIL, sbDown(1), TS_ERR),
		config: cfgTailscale({ witnesses: { quorum: 2 } }),
		want: { state: "suspect-partition", events: ["suspect-partition"] },
	},
	{
		name: "failThreshold 1: the first failure is enough",
		from: PA,
		obs: tick(FAIL, sbDown(1)),
		config: cfg({ failThreshold: 1 }),
		want: promoted2,
	},
	{
		name: "3 promotions in the last hour -> the failover still happens, the failback is held",
		from: { ...PA2, failovers: [NOW - 50 * MIN, NOW - 20 * MIN, NOW - MIN] },
		obs: tick(FAIL, sbDown(1)),
		want: {
			...promoted2,
			events: ["promoting", "failback-held"],
			check: (s) => void (s.failbackHeld === true || fail("failbackHeld")),
		},
	},
	{
		name: "3 promotions, one 61 min ago (out of the window) -> promote",
		from: { ...PA2, failovers: [NOW - 61 * MIN, NOW - 20 * MIN, NOW - MIN] },
		obs: tick(FAIL, sbDown(1)),
		want: { ...promoted2, check: (s) => void (s.failovers.length === 3 || fail("window")) },
	},
	{
		name: "standby reports a higher term -> adopted",
		from: PA,
		obs: tick(OK, sbUp(4)),
		want: { state: "primary-active", term: 4, events: ["term-adopted"] },
	},
	{
		name: "standby reports a lower term -> ours kept",
		from: { ...PA, term: 3 },
		obs: tick(OK, sbUp(1)),
		want: { state: "primary-active" },
	},
	{
		name: "standby unreachable for failThreshold checks -> warned",
		from: { ...PA, standbyMisses: 2 },
		obs: tick(OK, SB_GONE),
		want: { state: "primary-active", events: ["standby-unreachable"] },
	},
	{
		name: "standby unreachable, already warned -> silent",
		from: { ...PA, standbyMisses: 7, announced: ["standby-unreachable"] },
		obs: tick(OK, SB_GONE),
		want: { state: "primary-active" },
	},
	{
		name: "standby unreachable for 1 check -> silent",
		from: PA,
		obs: tick(OK, SB_GONE),
		want: { state: "primary-active" },
	},
	{
		name: "standby answers again after a warning -> standby-reachable",
		from: { ...PA, standbyMisses: 7, announced: ["standby-unreachable"] },
		obs: tick(OK, sbUp(1)),
		want: { state: "primary-active", events: ["standby-reachable"] },
	},
	{
		name: "a failback sync in flight is polled",
		from: PAS,
		obs: tick(OK, sbUp(2)),
		config: cfg({
			primary: { readyUrl: "http://127.0.0.1:9001/readyz", agentUrl: "http://127.0.0.1:9003" },
		}),
		want: { state: "primary-active", commands: [cmd("sync", 2)], pending: "same" },
	},
	{
		name: "primary down again while the sync is in flight -> the sync is dropped, promote term 3",
		from: { ...PAS, fails: 2 },
		obs: tick(FAIL, sbDown(2)),
		want: { state: "promoting", term: 3, commands: [cmd("promote", 3)], events: ["promoting"] },
	},
];

const promoting: Row[] = [
	{
		name: "primary still down -> the pending promote is polled (same op id)",
		from: PROM,
		obs: tick(FAIL, sbDown(2)),
		want: { state: "promoting", commands: [cmd("promote", 2)], pending: "same" },
	},
	{
		name: "primary back during the promotion -> carry on polling",
		from: PROM,
		obs: tick(OK, sbUp(2)),
		want: { state: "promoting", commands: [cmd("promote", 2)] },
	},
	{
		name: "standby not polled -> keep polling the command",
		from: PROM,
		obs: tick(FAIL),
		want: { state: "promoting", commands: [cmd("promote", 2)] },
	},
	{
		name: "standby unreachable once -> keep polling",
		from: PROM,
		obs: tick(FAIL, SB_GONE),
		want: { state: "promoting", commands: [cmd("promote", 2)] },
	},
	{
		name: "standby unreachable failThreshold times -> both-down, pending kept",
		from: { ...PROM, standbyMisses: 2 },
		obs: tick(FAIL, SB_GONE),
		want: { state: "both-down", events: ["both-down"], pending: "same" },
	},
	{
		name: "standby reports a higher term while a command is pending -> not adopted",
		from: PROM,
		obs: tick(FAIL, sbDown(7)),
		want: { state: "promoting", commands: [cmd("promote", 2)] },
	},
];

const standbyActive: Row[] = [
	{
		name: "primary still down -> stay",
		from: SA,
		obs: tick(FAIL, sbDown(2)),
		want: { state: "standby-active" },
	},
	{
		name: "one good probe -> stay (no demotion on one good probe)",
		from: SA,
		obs: tick(OK, sbUp(2)),
		want: { state: "standby-active", check: (s) => void (s.oks === 1 || fail("oks")) },
	},
	{
		name: "5th good probe -> stay",
		from: { ...SA, fails: 0, oks: 4 },
		obs: tick(OK, sbUp(2)),
		want: { state: "standby-active" },
	},
	{
		name: "6th good probe, active 2 min -> demote term 2",
		from: SA5,
		obs: tick(OK, sbUp(2)),
		want: {
			state: "demoting",
			commands: [cmd("demote", 2)],
			events: ["demoting"],
			pending: pending("demote", 2, 1, NOW),
		},
	},
	{
		name: "6th good probe, active exactly minActiveSeconds -> demote",
		from: { ...SA5, activeSince: NOW - MIN },
		obs: tick(OK, sbUp(2)),
		want: { state: "demoting", commands: [cmd("demote", 2)], events: ["demoting"] },
	},
	{
		name: "6th good probe, active only 30 s -> stay (minActiveSeconds)",
		from: { ...SA5, activeSince: NOW - 30_000 },
		obs: tick(OK, sbUp(2)),
		want: { state: "standby-active" },
	},
	{
		name: "manual failback: recovered -> failback-awaiting, no command",
		from: SA5,
		obs: tick(OK, sbUp(2)),
		config: cfg({ failback: "manual" }),
		want: { state: "standby-active", events: ["failback-awaiting"] },
	},
	{
		name: "manual failback: already announced -> silent",
		from: { ...SA5, oks: 30, announced: ["failback-awaiting"] },
		obs: tick(OK, sbUp(2)),
		config: cfg({ failback: "manual" }),
		want: { state: "standby-active" },
	},
	{
		name: "primary down + standby agent missed ONE check -> stay (fixed: was both-down)",
		from: SA,
		obs: tick(FAIL, SB_GONE),
		want: { state: "standby-active" },
	},
	{
		name: "primary down + standby agent missed failThreshold checks -> both-down",
		from: { ...SA, standbyMisses: 2 },
		obs: tick(FAIL, SB_GONE),
		want: { state: "both-down", events: ["both-down"] },
	},
	{
		name: "primary up + standby agent missed failThreshold checks -> warned, stay",
		from: { ...SA, fails: 0, standbyMisses: 2 },
		obs: tick(OK, SB_GONE),
		want: { state: "standby-active", events: ["standby-unreachable"] },
	},
	{
		name: "standby back after a warning -> standby-reachable",
		from: { ...SA, standbyMisses: 4, announced: ["standby-unreachable"] },
		obs: tick(FAIL, sbDown(2)),
		want: { state: "standby-active", events: ["standby-reachable"] },
	},
	{
		name: "standby reports a higher term -> adopted",
		from: SA,
		obs: tick(FAIL, sbDown(5)),
		want: { state: "standby-active", term: 5, events: ["term-adopted"] },
	},
];

const demoting: Row[] = [
	{
		name: "the pending demote is polled (same op id)",
		from: DEM,
		obs: tick(OK, sbUp(2)),
		want: { state: "demoting", commands: [cmd("demote", 2)], pending: "same" },
	},
	{
		name: "primary fails again during failback -> carry on (judgement: the failback is already running)",
		from: DEM,
		obs: tick(FAIL, sbDown(2)),
		want: { state: "demoting", commands: [cmd("demote", 2)] },
	},
	{
		name: "standby unreachable once -> keep polling",
		from: DEM,
		obs: tick(OK, SB_GONE),
		want: { state: "demoting", commands: [cmd("demote", 2)] },
	},
	{
		name: "standby unreachable failThreshold times -> both-down, pending kept",
		from: { ...DEM, standbyMisses: 2 },
		obs: tick(OK, SB_GONE),
		want: { state: "both-down", events: ["both-down"], pending: "same" },
	},
];

const suspect: Row[] = [
	{
		name: "still disagreeing -> stay, not announced again",
		from: SP,
		obs: tick(FAIL, sbUp(1)),
		want: { state: "suspect-partition" },
	},
	{
		name: "disagreement turns unconfirmed -> stay, silent",
		from: SP,
		obs: tick(FAIL, sbStale(false, 1)),
		want: { state: "suspect-partition" },
	},
	{
		name: "the Worker sees the primary again -> primary-active (judgement: one good probe clears it)",
		from: SP,
		obs: tick(OK, sbUp(1)),
		want: { state: "primary-active", events: ["partition-cleared"] },
	},
	{
		name: "the standby now agrees it is down -> promote",
		from: SP,
		obs: tick(FAIL, sbDown(1)),
		want: promoted2,
	},
	{
		name: "the standby becomes unreachable for failThreshold polls -> both-down",
		from: { ...SP, standbyMisses: 2 },
		obs: tick(FAIL, SB_GONE),
		want: { state: "both-down", events: ["both-down"] },
	},
];

const paused: Row[] = [
	{
		name: "failure at threshold while paused -> nothing happens, counters move",
		from: PAUSED,
		obs: tick(FAIL, sbDown(1)),
		want: { state: "paused", check: (s) => void (s.fails === 3 || fail("fails")) },
	},
	{
		name: "a higher standby term is adopted even while paused (judgement: terms only record facts)",
		from: PAUSED,
		obs: tick(OK, sbUp(6)),
		want: { state: "paused", term: 6, events: ["term-adopted"] },
	},
	{
		name: "paused mid-promotion -> the pending promote is not polled",
		from: PAUSED_PROM,
		obs: tick(FAIL, sbDown(2)),
		want: { state: "paused", pending: "same" },
	},
];

const held: Row[] = [
	{
		name: "primary down -> stay held, no command",
		from: HELD,
		obs: tick(FAIL, sbDown(3)),
		want: { state: "held" },
	},
	{
		name: "primary ready -> stay held (only an operator moves it)",
		from: HELD,
		obs: tick(OK, sbUp(3)),
		want: { state: "held" },
	},
	{
		name: "the whole hour passes -> still held",
		from: HELD,
		obs: tick(FAIL, sbDown(3)),
		now: NOW + 2 * 3_600_000,
		want: { state: "held" },
	},
	{
		name: "held on the standby, primary ready -> stay held",
		from: HELD_S,
		obs: tick(OK, sbUp(2)),
		want: { state: "held" },
	},
];

const bothDown: Row[] = [
	{
		name: "still both down -> stay, silent",
		from: BD,
		obs: tick(FAIL, SB_GONE),
		want: { state: "both-down" },
	},
	{
		name: "primary ready -> primary-active",
		from: BD,
		obs: tick(OK, SB_GONE),
		want: { state: "primary-active", events: ["recovered"] },
	},
	{
		name: "standby back and sees the primary down -> promote",
		from: BD,
		obs: tick(FAIL, sbDown(1)),
		want: promoted2,
	},
	{
		name: "standby back and sees the primary up -> suspect-partition",
		from: BD,
		obs: tick(FAIL, sbUp(1)),
		want: { state: "suspect-partition", events: ["suspect-partition"] },
	},
	{
		name: "standby not polled (counts as back; judgement) and alone -> promote",
		from: BD,
		obs: tick(FAIL),
		want: promoted2,
	},
	{
		name: "promote cut off, standby back -> promoting again, same op id polled",
		from: BDP,
		obs: tick(FAIL, sbDown(2)),
		want: {
			state: "promoting",
			commands: [cmd("promote", 2)],
			events: ["standby-reachable"],
			pending: "same",
		},
	},
	{
		name: "promote cut off, primary ready, standby still away -> stay both-down until the promote is resolved (fixed)",
		from: BDP,
		obs: tick(OK, SB_GONE),
		want: { state: "both-down", pending: "same" },
	},
	{
		name: "promote cut off, still both down -> stay",
		from: BDP,
		obs: tick(FAIL, SB_GONE),
		want: { state: "both-down", pending: "same" },
	},
	{
		name: "standby was serving, its agent is back -> standby-active",
		from: BDS,
		obs: tick(FAIL, sbDown(2)),
		want: { state: "standby-active", events: ["recovered"] },
	},
	{
		name: "standby was serving, primary ready, agent still away -> standby-active (primary ready again)",
		from: BDS,
		obs: tick(OK, SB_GONE),
		want: { state: "standby-active", events: ["recovered"] },
	},
	{
		name: "standby was serving, still both down -> stay",
		from: BDS,
		obs: tick(FAIL, SB_GONE),
		want: { state: "both-down" },
	},
	{
		name: "demote cut off, standby back -> demoting again, same op id polled",
		from: BDD,
		obs: tick(OK, sbUp(2)),
		want: { state: "demoting", commands: [cmd("demote", 2)], events: ["standby-reachable"] },
	},
	{
		name: "demote cut off, primary ready, agent still away -> stay both-down (fixed: no cycle)",
		from: BDD,
		obs: tick(OK, SB_GONE),
		want: { state: "both-down", pending: "same" },
	},
];

function fail(what: string): never {
	throw new Error(`unexpected ${what}`);
}

describe.each([
	["primary-active", primaryActive],
	["promoting", promoting],
	["standby-active", standbyActive],
	["demoting", demoting],
	["suspect-partition", suspect],
	["paused", paused],
	["held", held],
	["both-down", bothDown],
])("tick in %s", (_state, rows) => {
	it.each(rows)("$name", (row) => checkRow(row));
});
