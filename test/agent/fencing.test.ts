import { createServer } from "node:http";
import { describe, expect, it } from "vitest";
import { Fence, type FenceDeps, hostAnswers } from "../../agent/src/fencing";
import { silentLogger } from "../../agent/src/log";
import { freePort, listenLoopback } from "../harness/ports";

function fence(over: Partial<FenceDeps> & { lease?: boolean; standby?: boolean } = {}) {
	let now = 1_000_000;
	const calls: string[] = [];
	const world = { lease: over.lease ?? true, standby: over.standby ?? false };
	// A held lease keeps arriving: its arrival time is "now" while held, frozen once it stops.
	let lastLeaseAt: number | null = null;
	const f = new Fence({
		mode: "self",
		now: () => now,
		lastLeaseAt: () => {
			if (world.lease) lastLeaseAt = now;
			return lastLeaseAt;
		},
		leaseSeconds: () => 15,
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
	};
}

describe("self-fencing", () => {
	it("an isolated primary (no lease, no standby) stops its gateway once the lease time has passed since the last lease arrived", async () => {
		const t = fence({ lease: true });
		await t.f.check();
		t.world.lease = false;
		t.advance(14_000);
		await t.f.check();
		expect(t.calls).toEqual([]); // still within the lease
		t.advance(1_500);
		await t.f.check();
		expect(t.calls).toEqual(["stop"]);
		expect(t.f.state.fenced?.reason).toMatch(/isolated/);
		await t.f.check();
		expect(t.calls).toEqual(["stop"]); // once
	});

	it("never fences while it holds a lease, or while the standby answers", async () => {
		const holding = fence({ lease: true, standby: false });
		holding.advance(60_000);
		await holding.f.check();
		expect(holding.calls).toEqual([]);

		const seesStandby = fence({ lease: false, standby: true });
		seesStandby.advance(60_000);
		await seesStandby.f.check();
		expect(seesStandby.calls).toEqual([]);
		expect(seesStandby.f.state.fenced).toBeNull();
	});

	it("starts the gateway again when a lease naming it active comes back", async () => {
		const t = fence({ lease: false });
		await t.f.check(); // no lease yet: counted from the fence's start
		t.advance(16_000);
		await t.f.check();
		t.world.lease = true;
		await t.f.check();
		expect(t.calls).toEqual(["stop", "start"]);
		expect(t.f.state.fenced).toBeNull();
	});

	it("says so when the stop fails, and tries again on the next check", async () => {
		let ok = false;
		const t = fence({
			lease: false,
			stopGateway: async () => ({ ok, detail: "Access denied" }),
		});
		t.advance(16_000);
		await t.f.check();
		expect(t.f.state.problem).toMatch(/Access denied/);
		expect(t.f.state.fenced).toBeNull();
		ok = true;
		await t.f.check();
		expect(t.f.state.fenced).not.toBeNull();
	});

	it.each([
		["a recorded arrival 10 s before the start", 5_000, -10_000, 4_500],
		["a recorded arrival at the start", 15_000, 0, 14_500],
		["no record (the start counts as holding)", 15_000, undefined, 14_500],
		["an unknown arrival (counted as run out)", 0, null, null],
	])(
		"before this run's first lease, %s: fences %i ms after the start",
		async (_name, fencesAt, heldAgo, notAt) => {
			const start = 1_000_000;
			const t = fence({
				lease: false,
				...(heldAgo === undefined ? {} : { heldSince: heldAgo === null ? null : start + heldAgo }),
			});
			if (notAt !== null) {
				t.advance(notAt);
				await t.f.check();
				expect(t.calls).toEqual([]);
				t.advance(fencesAt - notAt);
			}
			await t.f.check();
			expect(t.calls).toEqual(["stop"]);
			expect(t.f.leaseRunsOutAt()).toBe(
				heldAgo === null ? Number.NEGATIVE_INFINITY : start + (heldAgo ?? 0) + 15_000,
			);
			if (heldAgo === null) expect(t.f.state.fenced?.reason).toMatch(/unknown/);
			// Only a lease of this run starts the gateway again, never the record.
			t.advance(1_000);
			await t.f.check();
			expect(t.calls).toEqual(["stop"]);
		},
	);

	it("off means off", async () => {
		const t = fence({ mode: "off", lease: false });
		t.advance(600_000);
		await t.f.check();
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
