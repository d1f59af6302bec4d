// The watchdog's lease: signed and verified round trip; every tampered, malformed or out-of-bounds lease refused.
import { beforeAll, describe, expect, it } from "vitest";
import {
	agentFingerprint,
	fromBase64Url,
	generateKeyPair,
	isNewerLease,
	type Lease,
	LeaseFieldError,
	leaseCanonical,
	leaseExpiresAt,
	MAX_LEASE_CHARS,
	MAX_SKEW_MS,
	MAX_TERM,
	signLease,
	signRequest,
	toBase64Url,
	utf8,
	verifyLease,
} from "../../protocol";

type Keys = Awaited<ReturnType<typeof generateKeyPair>>;
let keys: Keys;
let other: Keys;
beforeAll(async () => {
	keys = await generateKeyPair();
	other = await generateKeyPair();
});

const NOW = 1_780_000_000_000;
const lease = (over: Partial<Lease> = {}): Lease => ({
	pair: "home",
	active: "primary",
	term: 7,
	issuedAt: NOW,
	leaseSeconds: 30,
	...over,
});

describe("lease signing", () => {
	it("round-trips every field, for each active value", async () => {
		for (const active of ["primary", "standby", null] as const) {
			const text = await signLease(lease({ active }), keys.privateKey);
			const v = await verifyLease(text, [keys.publicKey], NOW);
			expect(v).toEqual({ ok: true, lease: lease({ active }), keyId: keys.keyId });
		}
	});

	it("has one canonical spelling", () => {
		expect(leaseCanonical(lease({ active: null }))).toBe(
			"failover-gateway/lease/v1\nhome\nnone\n7\n1780000000000\n30",
		);
	});

	it("refuses to sign a lease with out-of-bounds fields (a watchdog bug, thrown)", async () => {
		for (const bad of [
			lease({ pair: "" }),
			lease({ pair: "a\nb" }),
			lease({ pair: "x".repeat(65) }),
			lease({ term: -1 }),
			lease({ term: MAX_TERM + 1 }),
			lease({ term: 1.5 }),
			lease({ leaseSeconds: 0 }),
			lease({ leaseSeconds: 3_601 }),
			lease({ issuedAt: -5 }),
			lease({ active: "both" as never }),
		]) {
			await expect(signLease(bad, keys.privateKey)).rejects.toThrow(LeaseFieldError);
		}
	});

	it("rejects a lease signed by an untrusted key, naming it", async () => {
		const text = await signLease(lease(), other.privateKey);
		const v = await verifyLease(text, [keys.publicKey], NOW);
		expect(v).toMatchObject({ ok: false, code: "unknown-key" });
	});

	it("rejects every single-field change (the signature covers all of them)", async () => {
		const text = await signLease(lease(), keys.privateKey);
		const [, sig, id] = text.split(".");
		for (const changed of [
			lease({ pair: "work" }),
			lease({ active: "standby" }),
			lease({ active: null }),
			lease({ term: 8 }),
			lease({ issuedAt: NOW + 1 }),
			lease({ leaseSeconds: 3_600 }),
		]) {
			const forged = `${toBase64Url(utf8(leaseCanonical(changed)))}.${sig}.${id}`;
			expect(await verifyLease(forged, [keys.publicKey], NOW)).toMatchObject({
				ok: false,
				code: "bad-signature",
			});
		}
	});

	it("rejects malformed text of every kind without throwing", async () => {
		const good = await signLease(lease(), keys.privateKey);
		const [body = "", sig = ""] = good.split(".");
		const canonical = new TextDecoder().decode(fromBase64Url(body) ?? new Uint8Array());
		const enc = (t: string) => toBase64Url(utf8(t));
		for (const bad of [
			"",
			"x",
			"a.b.c.d",
			`${body}`,
			`${body}.${sig.slice(1)}`,
			`${body}=.${sig}`,
			`${enc(canonical.replace("v1", "v2"))}.${sig}`,
			`${enc(`${canonical}\nextra`)}.${sig}`,
			`${enc(canonical.replace("\n7\n", "\n07\n"))}.${sig}`,
			`${enc(canonical.replace("\n7\n", "\n-7\n"))}.${sig}`,
			`${enc(canonical.replace("\n7\n", `\n${MAX_TERM + 1}\n`))}.${sig}`,
			`${enc(canonical.replace("primary", "leader"))}.${sig}`,
			`${toBase64Url(new Uint8Array([0xff, 0xfe]))}.${sig}`,
			"a".repeat(MAX_LEASE_CHARS + 1),
		]) {
			const v = await verifyLease(bad, [keys.publicKey], NOW);
			expect(v.ok, bad.slice(0, 40)).toBe(false);
			if (!v.ok) expect(v.code).toBe("malformed");
		}
	});

	it("is not interchangeable with a request signature (separate signing contexts)", async () => {
		const headers = await signRequest({
			method: "GET",
			path: "/v1/status",
			privateKey: keys.privateKey,
			audience: {
				pair: "home",
				side: "standby",
				agent: await agentFingerprint(keys.publicKeyText),
			},
			now: NOW,
		});
		const sig = headers["x-fg-signature"] ?? "";
		const text = `${toBase64Url(utf8(leaseCanonical(lease())))}.${sig}`;
		expect(await verifyLease(text, [keys.publicKey], NOW)).toMatchObject({ ok: false });
	});

	it("refuses a lease issued further ahead of this clock than the request skew", async () => {
		const ahead = await signLease(lease({ issuedAt: NOW + MAX_SKEW_MS + 1 }), keys.privateKey);
		expect(await verifyLease(ahead, [keys.publicKey], NOW)).toMatchObject({
			ok: false,
			code: "from-the-future",
		});
		const within = await signLease(lease({ issuedAt: NOW + MAX_SKEW_MS }), keys.privateKey);
		expect((await verifyLease(within, [keys.publicKey], NOW)).ok).toBe(true);
	});

	it("orders leases by term, then issue time, and expires leaseSeconds after issue", () => {
		expect(isNewerLease(lease(), null)).toBe(true);
		expect(isNewerLease(lease({ term: 8, issuedAt: NOW - 60_000 }), lease())).toBe(true);
		expect(isNewerLease(lease({ term: 6, issuedAt: NOW + 60_000 }), lease())).toBe(false);
		expect(isNewerLease(lease({ issuedAt: NOW + 1 }), lease())).toBe(true);
		expect(isNewerLease(lease(), lease())).toBe(false);
		expect(leaseExpiresAt(lease())).toBe(NOW + 30_000);
	});
});
