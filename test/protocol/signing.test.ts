// Signing: fixed vectors reproduced byte for byte, and every tampered or malformed request rejected.
import { describe, expect, it } from "vitest";
import {
	canonicalString,
	fromBase64Url,
	generateKeyPair,
	HEADERS,
	importPrivateKey,
	importPublicKey,
	MAX_SKEW_MS,
	signRequest,
	toBase64Url,
	toHex,
	utf8,
	type VerifyRequestInput,
	verifyRequest,
} from "../../protocol";
import vector from "../fixtures/protocol-vector.json";

function fixtureCase(index: number) {
	const c = vector.cases[index];
	if (c === undefined) throw new Error(`fixture case ${index} is missing`);
	return c;
}
const post = fixtureCase(0);

async function fixtureKeys() {
	return {
		privateKey: await importPrivateKey(vector.privateKey),
		publicKey: await importPublicKey(vector.publicKey),
	};
}

describe("fixed vectors", () => {
	it("the fixture key is RFC 8032 test 1: pure Ed25519 over the empty message", async () => {
		const { privateKey, publicKey } = await fixtureKeys();
		const sig = new Uint8Array(await crypto.subtle.sign("Ed25519", privateKey, new Uint8Array(0)));
		expect(toHex(sig)).toBe(vector.rfc8032EmptyMessageSignatureHex);
		expect(await crypto.subtle.verify("Ed25519", publicKey, sig, new Uint8Array(0))).toBe(true);
	});

	for (const c of vector.cases) {
		it(`${c.method} ${c.path}: canonical string and signature match the fixture`, async () => {
			const { privateKey, publicKey } = await fixtureKeys();
			expect(await canonicalString(c)).toBe(c.canonical);
			const headers = await signRequest({
				method: c.method,
				path: c.path,
				body: c.body,
				privateKey,
				now: Number(c.timestamp),
				nonce: c.nonce,
			});
			expect(headers).toEqual({
				[HEADERS.timestamp]: c.timestamp,
				[HEADERS.nonce]: c.nonce,
				[HEADERS.signature]: c.signature,
				[HEADERS.keyId]: vector.keyId,
			});
			const result = await verifyRequest({
				method: c.method,
				path: c.path,
				body: c.body,
				headers: {
					[HEADERS.timestamp]: c.timestamp,
					[HEADERS.nonce]: c.nonce,
					[HEADERS.signature]: c.signature,
				},
				publicKeys: [publicKey],
				now: Number(c.timestamp),
			});
			expect(result).toEqual({
				ok: true,
				nonce: c.nonce,
				timestamp: Number(c.timestamp),
				keyId: vector.keyId,
			});
		});
	}

	it("a string body and the same bytes sign identically", async () => {
		const { privateKey } = await fixtureKeys();
		const common = {
			method: "POST",
			path: post.path,
			privateKey,
			now: Number(post.timestamp),
			nonce: post.nonce,
		};
		const a = await signRequest({ ...common, body: post.body });
		const b = await signRequest({ ...common, body: utf8(post.body) });
		expect(a).toEqual(b);
	});
});

describe("verifyRequest rejects", () => {
	async function base(): Promise<VerifyRequestInput> {
		const { publicKey } = await fixtureKeys();
		return {
			method: post.method,
			path: post.path,
			body: post.body,
			headers: {
				[HEADERS.timestamp]: post.timestamp,
				[HEADERS.nonce]: post.nonce,
				[HEADERS.signature]: post.signature,
				[HEADERS.keyId]: vector.keyId,
			},
			publicKeys: [publicKey],
			now: Number(post.timestamp),
		};
	}

	it("accepts the untouched request (the control for every case below)", async () => {
		expect((await verifyRequest(await base())).ok).toBe(true);
	});

	const tampers: [string, (input: VerifyRequestInput) => VerifyRequestInput][] = [
		["method", (i) => ({ ...i, method: "PUT" })],
		["path", (i) => ({ ...i, path: "/v1/demote" })],
		["body (one byte)", (i) => ({ ...i, body: post.body.replace("7", "8") })],
		["body (empty)", (i) => ({ ...i, body: "" })],
		[
			"timestamp (+1 ms)",
			(i) => ({
				...i,
				headers: { ...i.headers, [HEADERS.timestamp]: String(Number(post.timestamp) + 1) },
			}),
		],
		[
			"nonce",
			(i) => ({ ...i, headers: { ...i.headers, [HEADERS.nonce]: "AAECAwQFBgcICQoLDA0OEA" } }),
		],
		[
			"signature (one bit)",
			(i) => {
				const sig = fromBase64Url(post.signature) ?? new Uint8Array(64);
				sig[10] = (sig[10] ?? 0) ^ 1;
				return { ...i, headers: { ...i.headers, [HEADERS.signature]: toBase64Url(sig) } };
			},
		],
	];
	for (const [field, tamper] of tampers) {
		it(`a changed ${field} -> bad-signature`, async () => {
			const result = await verifyRequest(tamper(await base()));
			expect(result).toMatchObject({ ok: false, code: "bad-signature" });
		});
	}

	it("a signature by another key -> bad-signature (no key id) / unknown-key (key id)", async () => {
		const other = await generateKeyPair();
		const { publicKey } = await fixtureKeys();
		const now = 1_800_000_000_000;
		const headers = await signRequest({
			method: "GET",
			path: "/v1/status",
			privateKey: other.privateKey,
			now,
		});
		const input = { method: "GET", path: "/v1/status", publicKeys: [publicKey], now };
		expect(await verifyRequest({ ...input, headers })).toMatchObject({
			ok: false,
			code: "unknown-key",
		});
		const { [HEADERS.keyId]: _dropped, ...anonymous } = headers;
		expect(await verifyRequest({ ...input, headers: anonymous })).toMatchObject({
			ok: false,
			code: "bad-signature",
		});
	});

	it("missing signature header -> missing-signature", async () => {
		const input = await base();
		const { [HEADERS.signature]: _dropped, ...headers } = input.headers as Record<string, string>;
		expect(await verifyRequest({ ...input, headers })).toMatchObject({
			ok: false,
			code: "missing-signature",
		});
		expect(await verifyRequest({ ...input, headers: {} })).toMatchObject({
			ok: false,
			code: "missing-signature",
		});
	});

	const malformed: [string, Record<string, string | undefined>][] = [
		["no timestamp", { [HEADERS.timestamp]: undefined }],
		["decimal timestamp", { [HEADERS.timestamp]: "1764000000000.5" }],
		["negative timestamp", { [HEADERS.timestamp]: "-1764000000000" }],
		["no nonce", { [HEADERS.nonce]: undefined }],
		["short nonce", { [HEADERS.nonce]: "AAECAwQFBgcICQoLDA0O" }],
		["padded nonce", { [HEADERS.nonce]: "AAECAwQFBgcICQoLDA0ODw==" }],
		["non-canonical nonce", { [HEADERS.nonce]: "AAECAwQFBgcICQoLDA0ODx" }],
		[
			"signature in standard base64",
			{ [HEADERS.signature]: `${post.signature.replaceAll("_", "/").replaceAll("-", "+")}==` },
		],
		["short signature", { [HEADERS.signature]: post.signature.slice(0, 80) }],
		["bad key id", { [HEADERS.keyId]: "not a key id" }],
	];
	for (const [what, change] of malformed) {
		it(`${what} -> malformed-headers`, async () => {
			const input = await base();
			const headers = { ...(input.headers as Record<string, string>), ...change };
			for (const [k, v] of Object.entries(headers)) if (v === undefined) delete headers[k];
			const result = await verifyRequest({ ...input, headers });
			expect(result).toMatchObject({ ok: false, code: "malformed-headers" });
		});
	}

	it(`timestamp skew: exactly ±${MAX_SKEW_MS} ms passes, one more ms is stale`, async () => {
		const input = await base();
		const ts = Number(post.timestamp);
		for (const now of [ts - MAX_SKEW_MS, ts + MAX_SKEW_MS]) {
			expect((await verifyRequest({ ...input, now })).ok).toBe(true);
		}
		for (const now of [ts - MAX_SKEW_MS - 1, ts + MAX_SKEW_MS + 1]) {
			const result = await verifyRequest({ ...input, now });
			expect(result).toMatchObject({ ok: false, code: "stale-timestamp" });
		}
	});

	it("an agent with no keys -> unknown-key", async () => {
		expect(await verifyRequest({ ...(await base()), publicKeys: [] })).toMatchObject({
			ok: false,
			code: "unknown-key",
		});
	});
});

describe("key rotation", () => {
	it("accepts either of two configured keys, with or without the key id header", async () => {
		const oldPair = await generateKeyPair();
		const newPair = await generateKeyPair();
		const publicKeys = [
			await importPublicKey(oldPair.publicKeyText),
			await importPublicKey(newPair.publicKeyText),
		];
		const now = 1_800_000_000_000;
		for (const pair of [oldPair, newPair]) {
			const headers = await signRequest({
				method: "GET",
				path: "/v1/status",
				privateKey: pair.privateKey,
				now,
			});
			expect(
				await verifyRequest({ method: "GET", path: "/v1/status", headers, publicKeys, now }),
			).toMatchObject({
				ok: true,
				keyId: pair.keyId,
			});
			const { [HEADERS.keyId]: _dropped, ...anonymous } = headers;
			const result = await verifyRequest({
				method: "GET",
				path: "/v1/status",
				headers: anonymous,
				publicKeys,
				now,
			});
			expect(result).toMatchObject({ ok: true, keyId: pair.keyId });
		}
	});

	it("header lookup is case-insensitive and works with a Headers object", async () => {
		const { privateKey, publicKey } = await fixtureKeys();
		const now = 1_800_000_000_000;
		const signed = await signRequest({ method: "GET", path: "/v1/status", privateKey, now });
		const upper = Object.fromEntries(Object.entries(signed).map(([k, v]) => [k.toUpperCase(), v]));
		for (const headers of [upper, new Headers(signed)]) {
			const result = await verifyRequest({
				method: "get",
				path: "/v1/status",
				headers,
				publicKeys: [publicKey],
				now,
			});
			expect(result.ok).toBe(true);
		}
	});
});

describe("signRequest", () => {
	it("refuses a path with a query or without a leading slash (caller bug)", async () => {
		const { privateKey } = await fixtureKeys();
		await expect(
			signRequest({ method: "GET", path: "/v1/status?x=1", privateKey }),
		).rejects.toThrow(TypeError);
		await expect(signRequest({ method: "GET", path: "v1/status", privateKey })).rejects.toThrow(
			TypeError,
		);
	});

	it("uses a fresh 16-byte nonce each time", async () => {
		const { privateKey } = await fixtureKeys();
		const a = await signRequest({ method: "GET", path: "/v1/status", privateKey });
		const b = await signRequest({ method: "GET", path: "/v1/status", privateKey });
		expect(a[HEADERS.nonce]).not.toBe(b[HEADERS.nonce]);
		expect(fromBase64Url(a[HEADERS.nonce] ?? "")?.length).toBe(16);
	});
});
