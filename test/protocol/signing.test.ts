// Signing: fixed vectors reproduced byte for byte, and every tampered or malformed request rejected.
import { describe, expect, it } from "vitest";
import {
	type Audience,
	answerCanonicalString,
	type CanonicalInput,
	canonicalString,
	formatAudience,
	fromBase64Url,
	generateKeyPair,
	HEADERS,
	importPrivateKey,
	importPublicKey,
	MAX_SKEW_MS,
	signAnswer,
	signRequest,
	toBase64Url,
	toHex,
	utf8,
	type VerifyRequestInput,
	verifyAnswer,
	verifyRequest,
} from "../../protocol";
import vector from "../fixtures/protocol-vector.json";

/** The audience every fixture request is signed for (the fixture key doubles as the agent key). */
const AUD = vector.cases[0]?.audience as Audience;

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
			expect(await canonicalString(c as CanonicalInput)).toBe(c.canonical);
			const headers = await signRequest({
				method: c.method,
				path: c.path,
				body: c.body,
				privateKey,
				audience: AUD,
				now: Number(c.timestamp),
				nonce: c.nonce,
			});
			expect(headers).toEqual({
				[HEADERS.timestamp]: c.timestamp,
				[HEADERS.nonce]: c.nonce,
				[HEADERS.signature]: c.signature,
				[HEADERS.keyId]: vector.keyId,
				[HEADERS.audience]: formatAudience(AUD),
			});
			const result = await verifyRequest({
				method: c.method,
				path: c.path,
				body: c.body,
				headers: {
					[HEADERS.timestamp]: c.timestamp,
					[HEADERS.nonce]: c.nonce,
					[HEADERS.signature]: c.signature,
					[HEADERS.audience]: formatAudience(AUD),
				},
				publicKeys: [publicKey],
				audience: AUD,
				now: Number(c.timestamp),
			});
			expect(result).toEqual({
				ok: true,
				nonce: c.nonce,
				timestamp: Number(c.timestamp),
				keyId: vector.keyId,
				audience: AUD,
			});
		});
	}

	it("a string body and the same bytes sign identically", async () => {
		const { privateKey } = await fixtureKeys();
		const common = {
			method: "POST",
			path: post.path,
			privateKey,
			audience: AUD,
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
				[HEADERS.audience]: formatAudience(AUD),
			},
			publicKeys: [publicKey],
			audience: AUD,
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
			audience: AUD,
			now,
		});
		const input = {
			method: "GET",
			path: "/v1/status",
			publicKeys: [publicKey],
			now,
			audience: AUD,
		};
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
				audience: AUD,
				now,
			});
			expect(
				await verifyRequest({
					method: "GET",
					path: "/v1/status",
					headers,
					publicKeys,
					now,
					audience: AUD,
				}),
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
				audience: AUD,
				now,
			});
			expect(result).toMatchObject({ ok: true, keyId: pair.keyId });
		}
	});

	it("header lookup is case-insensitive and works with a Headers object", async () => {
		const { privateKey, publicKey } = await fixtureKeys();
		const now = 1_800_000_000_000;
		const signed = await signRequest({
			method: "GET",
			path: "/v1/status",
			privateKey,
			now,
			audience: AUD,
		});
		const upper = Object.fromEntries(Object.entries(signed).map(([k, v]) => [k.toUpperCase(), v]));
		for (const headers of [upper, new Headers(signed)]) {
			const result = await verifyRequest({
				method: "get",
				path: "/v1/status",
				headers,
				publicKeys: [publicKey],
				audience: AUD,
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
			signRequest({ method: "GET", path: "/v1/status?x=1", privateKey, audience: AUD }),
		).rejects.toThrow(TypeError);
		await expect(
			signRequest({ method: "GET", path: "v1/status", privateKey, audience: AUD }),
		).rejects.toThrow(TypeError);
	});

	it("uses a fresh 16-byte nonce each time", async () => {
		const { privateKey } = await fixtureKeys();
		const a = await signRequest({ method: "GET", path: "/v1/status", privateKey, audience: AUD });
		const b = await signRequest({ method: "GET", path: "/v1/status", privateKey, audience: AUD });
		expect(a[HEADERS.nonce]).not.toBe(b[HEADERS.nonce]);
		expect(fromBase64Url(a[HEADERS.nonce] ?? "")?.length).toBe(16);
	});
});

describe("audience (finding 1: a command is bound to its agent)", () => {
	const others: [string, Audience][] = [
		["another pair", { ...AUD, pair: "office" }],
		["the other side", { ...AUD, side: "primary" }],
		["another agent key", { ...AUD, agent: toBase64Url(new Uint8Array(32)) }],
	];
	for (const [what, mine] of others) {
		it(`a request signed for home/standby, verified by ${what} -> wrong-audience naming the difference`, async () => {
			const { privateKey, publicKey } = await fixtureKeys();
			const now = 1_800_000_000_000;
			const headers = await signRequest({
				method: "POST",
				path: "/v1/demote",
				body: "{}",
				audience: AUD,
				privateKey,
				now,
			});
			const result = await verifyRequest({
				method: "POST",
				path: "/v1/demote",
				body: "{}",
				headers,
				publicKeys: [publicKey],
				now,
				audience: mine,
			});
			expect(result).toMatchObject({ ok: false, code: "wrong-audience" });
			expect(!result.ok && result.message).toMatch(/another agent/);
		});
	}

	it("the audience header rewritten to the verifier's own audience -> bad-signature (it is signed)", async () => {
		const { privateKey, publicKey } = await fixtureKeys();
		const now = 1_800_000_000_000;
		const primary: Audience = { ...AUD, side: "primary" };
		const headers = await signRequest({
			method: "POST",
			path: "/v1/demote",
			audience: AUD,
			privateKey,
			now,
		});
		const result = await verifyRequest({
			method: "POST",
			path: "/v1/demote",
			headers: { ...headers, [HEADERS.audience]: formatAudience(primary) },
			publicKeys: [publicKey],
			now,
			audience: primary,
		});
		expect(result).toMatchObject({ ok: false, code: "bad-signature" });
	});

	for (const bad of [undefined, "", "home/standby", "home/leader/x", `Home/standby/${AUD.agent}`]) {
		it(`audience header ${JSON.stringify(bad)} -> malformed-headers`, async () => {
			const { privateKey, publicKey } = await fixtureKeys();
			const now = 1_800_000_000_000;
			const { [HEADERS.audience]: _dropped, ...headers } = await signRequest({
				method: "GET",
				path: "/v1/status",
				audience: AUD,
				privateKey,
				now,
			});
			const result = await verifyRequest({
				method: "GET",
				path: "/v1/status",
				headers: bad === undefined ? headers : { ...headers, [HEADERS.audience]: bad },
				publicKeys: [publicKey],
				now,
				audience: AUD,
			});
			expect(result).toMatchObject({ ok: false, code: "malformed-headers" });
		});
	}
});

describe("signed answers (finding 2: the agent's word, for this request only)", () => {
	const answerCase = vector.answers[0];
	if (answerCase === undefined) throw new Error("fixture answer is missing");
	const answer = { ...answerCase, audience: answerCase.audience as Audience };

	it("the fixture answer: canonical string and signature reproduced byte for byte", async () => {
		const { privateKey } = await fixtureKeys();
		expect(await answerCanonicalString(answer)).toBe(answer.canonical);
		expect((await signAnswer({ ...answer, privateKey }))[HEADERS.answerSignature]).toBe(
			answer.signature,
		);
	});

	async function verdict(
		change: (headers: Record<string, string>) => Partial<typeof answer> = () => ({}),
	) {
		const { publicKey } = await fixtureKeys();
		const headers: Record<string, string> = {
			[HEADERS.answerSignature]: answer.signature,
			[HEADERS.answerNonce]: answer.nonce,
		};
		const changed = change(headers);
		return verifyAnswer({ ...answer, ...changed, headers, publicKey });
	}

	it("verifies untouched (the control)", async () => {
		expect(await verdict()).toEqual({ ok: true });
	});

	const cases: [string, (h: Record<string, string>) => Partial<typeof answer>, string][] = [
		[
			"no signature header (an unsigned answer)",
			(h) => {
				delete h[HEADERS.answerSignature];
				return {};
			},
			"unsigned-answer",
		],
		[
			"the answer replayed to another request",
			() => ({ nonce: "AAAAAAAAAAAAAAAAAAAAAA" }),
			"wrong-nonce",
		],
		[
			"a huge term written into the body",
			() => ({ body: answer.body.replace('"term":7', `"term":${Number.MAX_SAFE_INTEGER}`) }),
			"bad-answer-signature",
		],
		["a 200 turned into a 409", () => ({ status: 409 }), "bad-answer-signature"],
		[
			"an answer from the other side's agent",
			() => ({ audience: { ...answer.audience, side: "primary" } }),
			"bad-answer-signature",
		],
		[
			"the echoed nonce header dropped and the nonce changed",
			(h) => {
				delete h[HEADERS.answerNonce];
				return { nonce: "AAAAAAAAAAAAAAAAAAAAAA" };
			},
			"bad-answer-signature",
		],
		[
			"a signature that is not 64 bytes",
			(h) => {
				h[HEADERS.answerSignature] = "abc";
				return {};
			},
			"malformed-answer-signature",
		],
	];
	for (const [what, change, code] of cases) {
		it(`${what} -> ${code}`, async () => {
			expect(await verdict(change)).toMatchObject({ ok: false, code });
		});
	}

	it("a signature by another key (a forger's) -> bad-answer-signature", async () => {
		const forger = await generateKeyPair();
		const { publicKey } = await fixtureKeys();
		const headers = await signAnswer({ ...answer, privateKey: forger.privateKey });
		expect(await verifyAnswer({ ...answer, headers, publicKey })).toMatchObject({
			ok: false,
			code: "bad-answer-signature",
		});
	});

	it("an answer signature never passes as a request signature (different context line)", async () => {
		const { privateKey, publicKey } = await fixtureKeys();
		const now = 1_800_000_000_000;
		const signed = await signAnswer({ ...answer, privateKey });
		const result = await verifyRequest({
			method: "GET",
			path: "/v1/status",
			headers: {
				[HEADERS.timestamp]: String(now),
				[HEADERS.nonce]: answer.nonce,
				[HEADERS.signature]: signed[HEADERS.answerSignature] ?? "",
				[HEADERS.audience]: formatAudience(answer.audience),
			},
			body: answer.body,
			publicKeys: [publicKey],
			now,
			audience: answer.audience,
		});
		expect(result).toMatchObject({ ok: false, code: "bad-signature" });
	});
});
