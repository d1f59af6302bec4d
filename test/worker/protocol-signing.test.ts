// Cross-runtime check: inside workerd, protocol/ reproduces the Node-made vector and verifies Node's signatures.
import { describe, expect, it } from "vitest";
import {
	type Audience,
	answerCanonicalString,
	type CanonicalInput,
	canonicalString,
	formatAudience,
	HEADERS,
	importPrivateKey,
	importPublicKey,
	signAnswer,
	signRequest,
	toHex,
	verifyAnswer,
	verifyRequest,
} from "../../protocol";
import vector from "../fixtures/protocol-vector.json";

/** The audience every fixture request is signed for (the fixture key doubles as the agent key). */
const AUD = vector.cases[0]?.audience as Audience;

describe("protocol signing in workerd", () => {
	it("is pure Ed25519 here too (RFC 8032 test 1)", async () => {
		const key = await importPrivateKey(vector.privateKey);
		const sig = new Uint8Array(await crypto.subtle.sign("Ed25519", key, new Uint8Array(0)));
		expect(toHex(sig)).toBe(vector.rfc8032EmptyMessageSignatureHex);
	});

	for (const c of vector.cases) {
		it(`${c.method} ${c.path}: signs exactly as Node did`, async () => {
			const privateKey = await importPrivateKey(vector.privateKey);
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
			expect(headers[HEADERS.signature]).toBe(c.signature);
			expect(headers[HEADERS.keyId]).toBe(vector.keyId);
		});

		it(`${c.method} ${c.path}: verifies the signature Node made, and rejects it once tampered`, async () => {
			const publicKey = await importPublicKey(vector.publicKey);
			const input = {
				method: c.method,
				path: c.path,
				body: c.body,
				headers: new Headers({
					[HEADERS.timestamp]: c.timestamp,
					[HEADERS.nonce]: c.nonce,
					[HEADERS.signature]: c.signature,
					[HEADERS.audience]: formatAudience(AUD),
				}),
				publicKeys: [publicKey],
				audience: AUD,
				now: Number(c.timestamp) + 1_000,
			};
			expect(await verifyRequest(input)).toEqual({
				ok: true,
				nonce: c.nonce,
				timestamp: Number(c.timestamp),
				keyId: vector.keyId,
				audience: AUD,
			});
			expect(await verifyRequest({ ...input, body: `${c.body} ` })).toMatchObject({
				ok: false,
				code: "bad-signature",
			});
		});
	}

	it("reproduces and verifies Node's signed answer (the agent side of the protocol)", async () => {
		const a = vector.answers[0];
		if (a === undefined) throw new Error("fixture answer is missing");
		const answer = { ...a, audience: a.audience as Audience };
		const privateKey = await importPrivateKey(vector.privateKey);
		const publicKey = await importPublicKey(vector.publicKey);
		expect(await answerCanonicalString(answer)).toBe(answer.canonical);
		const headers = await signAnswer({ ...answer, privateKey });
		expect(headers[HEADERS.answerSignature]).toBe(answer.signature);
		expect(await verifyAnswer({ ...answer, headers, publicKey })).toEqual({ ok: true });
		expect(
			await verifyAnswer({ ...answer, headers, publicKey, body: answer.body.replace("7", "8") }),
		).toMatchObject({ ok: false, code: "bad-answer-signature" });
	});
});
