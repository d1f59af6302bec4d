// The agent's lease holder: keeps the newest valid lease, judges freshness on its own clock, answers for its side.
import { describe, expect, it } from "vitest";
import { LeaseHolder } from "../../../agent/src/replication/lease-holder";
import { generateKeyPair, type Lease, signLease } from "../../../protocol";

async function setup(side: "primary" | "standby" = "primary", pair?: string) {
	const keys = await generateKeyPair();
	let now = 1_780_000_000_000;
	const holder = new LeaseHolder({
		publicKeys: [keys.publicKey],
		side,
		now: () => now,
		...(pair ? { pair } : {}),
	});
	const sign = (over: Partial<Lease> = {}) =>
		signLease(
			{ pair: "home", active: "primary", term: 3, issuedAt: now, leaseSeconds: 30, ...over },
			keys.privateKey,
		);
	return { holder, sign, keys, advance: (ms: number) => (now += ms), now: () => now };
}

describe("LeaseHolder", () => {
	it("holds nothing until the first lease, then a fresh lease for its side", async () => {
		const t = await setup();
		expect(t.holder.view()).toEqual({ kind: "none" });
		expect(t.holder.activeTerm()).toBeNull();
		expect((await t.holder.offer(await t.sign())).kind).toBe("kept");
		expect(t.holder.activeTerm()).toBe(3);
		expect(t.holder.view()).toMatchObject({ kind: "fresh", holder: true, expiresInMs: 30_000 });
	});

	it("a fresh lease naming the other side, or nobody, is not this side's", async () => {
		const t = await setup();
		await t.holder.offer(await t.sign({ active: "standby" }));
		expect(t.holder.activeTerm()).toBeNull();
		expect(t.holder.view()).toMatchObject({ kind: "fresh", holder: false });
		t.advance(1);
		await t.holder.offer(await t.sign({ active: null }));
		expect(t.holder.view()).toMatchObject({ kind: "fresh", holder: false });
	});

	it("expires leaseSeconds after issue, and says how long ago", async () => {
		const t = await setup();
		await t.holder.offer(await t.sign());
		t.advance(30_000);
		expect(t.holder.activeTerm()).toBeNull();
		expect(t.holder.view().kind).toBe("expired");
		t.advance(5_000);
		expect(t.holder.view()).toMatchObject({ kind: "expired", agoMs: 5_000 });
	});

	it("keeps the newest: a reordered older lease never replaces it, a higher term always does", async () => {
		const t = await setup();
		const older = await t.sign({ term: 3 });
		t.advance(1_000);
		await t.holder.offer(await t.sign({ term: 4, active: "standby" }));
		expect((await t.holder.offer(older)).kind).toBe("older");
		expect(t.holder.newest?.term).toBe(4);
		expect(t.holder.activeTerm()).toBeNull();
		t.advance(1_000);
		await t.holder.offer(await t.sign({ term: 5, active: "primary" }));
		expect(t.holder.activeTerm()).toBe(5);
	});

	it("rejects forged and foreign leases, keeping what it held", async () => {
		const t = await setup("primary", "home");
		await t.holder.offer(await t.sign());
		const forged = (await t.sign({ term: 9 })).replace(/\.[^.]+\./, ".AAAA.");
		expect((await t.holder.offer(forged)).kind).toBe("rejected");
		const stranger = await generateKeyPair();
		const foreign = await signLease(
			{ pair: "home", active: "primary", term: 9, issuedAt: t.now(), leaseSeconds: 30 },
			stranger.privateKey,
		);
		expect(await t.holder.offer(foreign)).toMatchObject({ kind: "rejected", code: "unknown-key" });
		expect((await t.holder.offer(await t.sign({ pair: "work", term: 9 }))).kind).toBe("other-pair");
		expect(t.holder.newest?.term).toBe(3);
		expect(t.holder.lastRejection?.code).toBe("unknown-key");
	});

	it("notices a lease that was expired on arrival (clocks far apart)", async () => {
		const t = await setup();
		await t.holder.offer(await t.sign({ issuedAt: t.now() - 60_000 }));
		expect(t.holder.view().kind).toBe("expired");
		expect(t.holder.expiredOnArrival()).toBe(true);
		t.advance(1);
		await t.holder.offer(await t.sign({ term: 4 }));
		expect(t.holder.expiredOnArrival()).toBe(false);
	});

	it("tells listeners about each newly kept lease", async () => {
		const t = await setup("standby");
		const seen: number[] = [];
		t.holder.onNewLease((l) => seen.push(l.term));
		await t.holder.offer(await t.sign({ term: 1 }));
		await t.holder.offer(await t.sign({ term: 1 }));
		await t.holder.offer(await t.sign({ term: 2, active: "standby" }));
		expect(seen).toEqual([1, 2]);
		expect(t.holder.activeTerm()).toBe(2);
	});
});
