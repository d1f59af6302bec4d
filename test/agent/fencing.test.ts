import { createServer } from "node:http";
import { describe, expect, it } from "vitest";
import { Fence, type FenceDeps, hostAnswers } from "../../agent/src/fencing";
import { silentLogger } from "../../agent/src/log";
import { DEFAULT_LEASE_SECONDS, type Role } from "../../protocol";
import { freePort, listenLoopback } from "../harness/ports";

function fence(over: Partial<FenceDeps> & { lease?: boolean; standby?: boolean } = {}) {
	let now = 1_000_000;
	const calls: string[] = [];
	const world = { lease: over.lease ?? true, standby: over.standby ?? false };
	const f = new Fence({
		mode: "self",
		side: "primary",
		now: () => now,
		standbyReachable: async () => world.standby,
		stopGateway: async () => {
			calls.push("stop");
			return { ok: true, detail: "" };
		},
		startGateway: async () => {
			calls.push("start");
			return { ok: true, detail: "" };
		},
		log: silentLogger,
		...over,
	});
	return {
		f,
		calls,
		world,
		advance: (ms: number) => {
			now += ms;
		},
		/** A lease kept now (the agent's LeaseHolder.onNewLease). */
		grant: (active: Role | null, leaseSeconds: number) =>
			f.noteLease({ active, leaseSeconds }, now),
		/** One check; while the world holds a lease, a 15 s lease naming this primary arrives just before. */
		check: async () => {
			if (world.lease) f.noteLease({ active: "primary", leaseSeconds: 15 }, now);
			await f.check();
		},
	};
}

describe("self-fencing", () => {
	it("an isolated primary (no lease, no standby) stops its gateway once the lease time has passed since the last lease arrived", async () => {
		const t = fence({ lease: true });
		await t.check();
		t.world.lease = false;
		t.advance(14_000);
		await t.check();
		expect(t.calls).toEqual([]); // still within the lease
		t.advance(1_500);
		await t.check();
		expect(t.calls).toEqual(["stop"]);
		expect(t.f.state.fenced?.reason).toMatch(/isolated/);
		await t.check();
		expect(t.calls).toEqual(["stop"]); // once
	});

	it("never fences while it holds a lease, or while the standby answers", async () => {
		const holding = fence({ lease: true, standby: false });
		holding.advance(60_000);
		await holding.check();
		expect(holding.calls).toEqual([]);

		const seesStandby = fence({ lease: false, standby: true });
		seesStandby.advance(60_000);
		await seesStandby.check();
		expect(seesStandby.calls).toEqual([]);
		expect(seesStandby.f.state.fenced).toBeNull();
	});

	it("starts the gateway again when a lease naming it active comes back", async () => {
		const t = fence({ lease: false });
		await t.check(); // no lease yet: a default lease counted from the fence's start
		t.advance(DEFAULT_LEASE_SECONDS * 1000 + 1_000);
		await t.check();
		t.world.lease = true;
		await t.check();
		expect(t.calls).toEqual(["stop", "start"]);
		expect(t.f.state.fenced).toBeNull();
	});

	it("says so when the stop fails, and tries again on the next check", async () => {
		let ok = false;
		const t = fence({
			lease: false,
			stopGateway: async () => ({ ok, detail: "Access denied" }),
		});
		t.advance(DEFAULT_LEASE_SECONDS * 1000 + 1_000);
		await t.check();
		expect(t.f.state.problem).toMatch(/Access denied/);
		expect(t.f.state.fenced).toBeNull();
		ok = true;
		await t.check();
		expect(t.f.state.fenced).not.toBeNull();
	});

	it.each([
		["a recorded 5 s lease, arrived 0 s before the start", 5_000, { ago: 0, seconds: 5 }, 4_500],
		[
			"a recorded 15 s lease, arrived 10 s before the start",
			5_000,
			{ ago: 10_000, seconds: 15 },
			4_500,
		],
		[
			"a recorded 60 s lease, arrived 10 s before the start",
			50_000,
			{ ago: 10_000, seconds: 60 },
			49_500,
		],
		[
			"no record (the start counts as holding a default lease)",
			DEFAULT_LEASE_SECONDS * 1000,
			undefined,
			DEFAULT_LEASE_SECONDS * 1000 - 500,
		],
		["an unknown arrival (counted as run out)", 0, null, null],
	] as const)(
		"before this run's first lease, %s: fences %i ms after the start",
		async (_name, fencesAt, recorded, notAt) => {
			const start = 1_000_000;
			const t = fence({
				lease: false,
				...(recorded === undefined
					? {}
					: {
							heldSince:
								recorded === null
									? null
									: { arrivedAt: start - recorded.ago, leaseSeconds: recorded.seconds },
						}),
			});
			if (notAt !== null) {
				t.advance(notAt);
				await t.check();
				expect(t.calls).toEqual([]);
				t.advance(fencesAt - notAt);
			}
			await t.check();
			expect(t.calls).toEqual(["stop"]);
			expect(t.f.leaseRunsOutAt()).toBe(
				recorded === null ? Number.NEGATIVE_INFINITY : start + fencesAt,
			);
			if (recorded === null) expect(t.f.state.fenced?.reason).toMatch(/unknown/);
			// Only a lease of this run starts the gateway again, never the record.
			t.advance(1_000);
			await t.check();
			expect(t.calls).toEqual(["stop"]);
		},
	);

	it("a clock stepped back after the fence does not lift it: only a new lease naming it does", async () => {
		const t = fence({ lease: true });
		await t.check();
		t.world.lease = false;
		t.advance(16_000);
		await t.check();
		expect(t.calls).toEqual(["stop"]);
		t.advance(-10_000); // NTP steps the clock back: the old lease looks unexpired again
		await t.check();
		expect(t.calls).toEqual(["stop"]);
		t.grant("primary", 15);
		await t.check();
		expect(t.calls).toEqual(["stop", "start"]);
	});

	it("a lease naming this side that arrives while the stop runs lifts the fence at the next check", async () => {
		let t: ReturnType<typeof fence> | undefined;
		t = fence({
			lease: false,
			stopGateway: async () => {
				t?.grant("primary", 15);
				return { ok: true, detail: "" };
			},
			startGateway: async () => {
				t?.calls.push("start");
				return { ok: true, detail: "" };
			},
		});
		t.advance(DEFAULT_LEASE_SECONDS * 1000);
		await t.check();
		expect(t.f.state.fenced).not.toBeNull();
		await t.check();
		expect(t.calls).toEqual(["start"]);
		expect(t.f.state.fenced).toBeNull();
	});

	it("off means off", async () => {
		const t = fence({ mode: "off", lease: false });
		t.advance(600_000);
		await t.check();
		expect(t.calls).toEqual([]);
	});
});

describe("hostAnswers (the standby seen over the tailnet)", () => {
	it("any HTTP answer, or a refused connection, proves the host is there", async () => {
		const server = createServer((_req, res) => res.writeHead(503).end());
		const port = await listenLoopback(server);
		try {
			expect(await hostAnswers(`http://127.0.0.1:${port}/`, AbortSignal.timeout(2_000))).toBe(true);
		} finally {
			server.close();
		}
		// A port nothing listens on: the host refuses at once.
		const closed = await freePort();
		expect(await hostAnswers(`http://127.0.0.1:${closed}/`, AbortSignal.timeout(2_000))).toBe(true);
	});

	it("a timeout does not", async () => {
		const server = createServer(() => {
			// Never answers.
		});
		const port = await listenLoopback(server);
		try {
			expect(await hostAnswers(`http://127.0.0.1:${port}/`, AbortSignal.timeout(200))).toBe(false);
		} finally {
			server.closeAllConnections();
			server.close();
		}
	});
});

/** Deterministic PRNG (mulberry32): the property below replays exactly from its seed. */
function prng(seed: number): () => number {
	let a = seed >>> 0;
	return () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let x = a;
		x = Math.imul(x ^ (x >>> 15), x | 1);
		x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
		return ((x ^ (x >>> 14)) >>> 0) / 4_294_967_296;
	};
}

/** 500 runs of up to 60 steps with an instant fake standby probe: well under a second idle. */
const PROPERTY_TIMEOUT_MS = 30_000;

describe("only a lease naming this side moves the fence (random, seeded)", () => {
	it(
		"the run-out is the newest lease naming it plus that lease's length; it stops no earlier, and starts again only after such a lease",
		async () => {
			for (let seed = 1; seed <= 500; seed++) {
				const random = prng(seed);
				const t = fence({ lease: false, standby: false });
				let now = 1_000_000;
				// The model: the newest lease naming the primary (before one: a default lease from the start).
				let ownAt = now;
				let ownSeconds = DEFAULT_LEASE_SECONDS;
				let ownSinceStop = false;
				const steps = 5 + Math.floor(random() * 55);
				for (let i = 0; i < steps; i++) {
					const dt = Math.floor(random() * 40_000);
					t.advance(dt);
					now += dt;
					const roll = random();
					const active: Role | null = roll < 0.3 ? "primary" : roll < 0.65 ? "standby" : null;
					const length = 1 + Math.floor(random() * 600);
					if (random() < 0.7) {
						t.grant(active, length);
						if (active === "primary") {
							ownAt = now;
							ownSeconds = length;
							ownSinceStop = true;
						}
					}
					const wasFenced = t.f.state.fenced !== null;
					const calls = t.calls.length;
					await t.f.check();
					const runsOut = ownAt + ownSeconds * 1000;
					const where = `seed ${seed} step ${i}`;
					expect(t.f.leaseRunsOutAt(), where).toBe(runsOut);
					const did = t.calls.slice(calls);
					if (now < runsOut) expect(did, where).not.toContain("stop");
					if (did.includes("start")) {
						expect(wasFenced, where).toBe(true);
						expect(ownSinceStop, where).toBe(true);
					}
					// Fenced and a fresh lease naming it arrived since: it must start again.
					if (wasFenced && ownSinceStop && now < runsOut) expect(did, where).toEqual(["start"]);
					if (did.includes("stop")) ownSinceStop = false;
				}
			}
		},
		PROPERTY_TIMEOUT_MS,
	);
});
