// Key encodings: round trips, the fixture's key id, and clear errors for anything else.
import { describe, expect, it } from "vitest";
import {
	type Audience,
	agentFingerprint,
	type CanonicalInput,
	decodePrivateKey,
	decodePublicKey,
	exportPublicKey,
	generateKeyPair,
	importPrivateKey,
	importPublicKey,
	importSigningKey,
	KeyFormatError,
	keyId,
	PRIVATE_KEY_PREFIX,
	PUBLIC_KEY_PREFIX,
	publicKeyTextOf,
	signRequest,
	verifyRequest,
} from "../../protocol";
import vector from "../fixtures/protocol-vector.json";

/** The audience every fixture request is signed for (the fixture key doubles as the agent key). */
const AUD = vector.cases[0]?.audience as Audience;

describe("keys", () => {
	it("generated keys export to the documented prefixes and import back", async () => {
		const pair = await generateKeyPair();
		expect(pair.publicKeyText).toMatch(/^ed25519:[A-Za-z0-9_-]{43}$/);
		expect(pair.privateKeyText.startsWith(PRIVATE_KEY_PREFIX)).toBe(true);
		const priv = await importPrivateKey(pair.privateKeyText);
		const pub = await importPublicKey(pair.publicKeyText);
		expect(priv.extractable).toBe(false);
		expect(await exportPublicKey(pub)).toBe(pair.publicKeyText);
		expect(await keyId(priv)).toBe(pair.keyId);
		expect(await keyId(pub)).toBe(pair.keyId);
		const now = 1_800_000_000_000;
		const headers = await signRequest({
			method: "GET",
			path: "/v1/status",
			privateKey: priv,
			now,
			audience: AUD,
		});
		expect(
			(
				await verifyRequest({
					method: "GET",
					path: "/v1/status",
					headers,
					publicKeys: [pub],
					now,
					audience: AUD,
				})
			).ok,
		).toBe(true);
	});

	it("accepts a private key without the prefix and with surrounding whitespace", async () => {
		const bare = vector.privateKey.slice(PRIVATE_KEY_PREFIX.length);
		const key = await importPrivateKey(`\n  ${bare}\n`);
		expect(await keyId(key)).toBe(vector.keyId);
	});

	it("the fixture key id is derived from its public key", async () => {
		expect(await keyId(await importPublicKey(vector.publicKey))).toBe(vector.keyId);
	});

	it("importSigningKey derives the public key text, and the agent fingerprint is its full SHA-256", async () => {
		const pair = await generateKeyPair();
		const imported = await importSigningKey(pair.privateKeyText);
		expect(imported.publicKeyText).toBe(pair.publicKeyText);
		expect(await agentFingerprint(vector.publicKey)).toBe(vector.agentFingerprint);
		expect(vector.agentFingerprint).toMatch(/^[A-Za-z0-9_-]{43}$/);
		await expect(agentFingerprint("ed25519:short")).rejects.toThrow(TypeError);
		expect(await keyId(await importPrivateKey(vector.privateKey))).toBe(vector.keyId);
	});

	const badPublic = [
		"",
		"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
		"ed25519:",
		"ed25519:11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHUR",
		"ed25519:11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo",
		"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ",
	];
	for (const text of badPublic) {
		it(`rejects public key ${JSON.stringify(text)} with a message naming the format`, async () => {
			const decoded = decodePublicKey(text);
			expect(decoded.ok).toBe(false);
			if (!decoded.ok) expect(decoded.message).toContain(PUBLIC_KEY_PREFIX);
			await expect(importPublicKey(text)).rejects.toThrow(KeyFormatError);
		});
	}

	const badPrivate = [
		"",
		"ed25519-priv:",
		"ed25519-priv:not base64!",
		vector.publicKey,
		// 48 base64 bytes that are not a PKCS#8 Ed25519 key.
		`ed25519-priv:${btoa("x".repeat(48))}`,
	];
	for (const text of badPrivate) {
		it(`rejects private key ${JSON.stringify(text.slice(0, 30))} with KeyFormatError`, async () => {
			await expect(importPrivateKey(text)).rejects.toThrow(KeyFormatError);
		});
	}

	it("decodePrivateKey accepts the fixture", () => {
		expect(decodePrivateKey(vector.privateKey).ok).toBe(true);
	});
});

describe("publicKeyTextOf", () => {
	it("names the public half of a generated private key", async () => {
		const pair = await generateKeyPair();
		expect(await publicKeyTextOf(pair.privateKeyText)).toBe(pair.publicKeyText);
		expect(await publicKeyTextOf(`  ${pair.privateKeyText}\n`)).toBe(pair.publicKeyText);
	});

	it.each([
		"",
		"ed25519:AAAA",
		"ed25519-priv:bm90IGEga2V5IGF0IGFsbCwganVzdCBzb21lIHRleHQgdGhhdCBpcyBsb25nIGVub3VnaA==",
	])("refuses %j with a KeyFormatError", async (text) => {
		await expect(publicKeyTextOf(text)).rejects.toBeInstanceOf(KeyFormatError);
	});
});
