// Ed25519 key generation, import and export in the documented text encodings (WebCrypto only).
import { fromBase64, fromBase64Url, ownBytes, sha256, toBase64, toBase64Url } from "./encoding";

/** Public key text: "ed25519:" + base64url (no padding) of the raw 32-byte key. */
export const PUBLIC_KEY_PREFIX = "ed25519:";
/** Private key text: optional "ed25519-priv:" + standard base64 (padded) of the PKCS#8 DER key. */
export const PRIVATE_KEY_PREFIX = "ed25519-priv:";

const ALGORITHM = { name: "Ed25519" } as const;

/** Thrown by importPrivateKey / importPublicKey for text that is not a key in the documented encoding. */
export class KeyFormatError extends Error {
	override name = "KeyFormatError";
}

export type Decoded = { ok: true; bytes: Uint8Array } | { ok: false; message: string };

/** Synchronous format check of a public key line, for config validation. */
export function decodePublicKey(text: string): Decoded {
	const trimmed = text.trim();
	if (!trimmed.startsWith(PUBLIC_KEY_PREFIX)) {
		return { ok: false, message: `expected "${PUBLIC_KEY_PREFIX}<base64url of 32 bytes>"` };
	}
	const bytes = fromBase64Url(trimmed.slice(PUBLIC_KEY_PREFIX.length));
	if (bytes === null || bytes.length !== 32) {
		return {
			ok: false,
			message: `expected "${PUBLIC_KEY_PREFIX}" followed by 43 base64url characters (32 bytes)`,
		};
	}
	return { ok: true, bytes };
}

/** Synchronous format check of private key text (PKCS#8 DER, base64, optional prefix). */
export function decodePrivateKey(text: string): Decoded {
	let body = text.trim();
	if (body.startsWith(PRIVATE_KEY_PREFIX)) body = body.slice(PRIVATE_KEY_PREFIX.length);
	const bytes = fromBase64(body);
	if (bytes === null || bytes.length < 48) {
		return {
			ok: false,
			message: `expected "${PRIVATE_KEY_PREFIX}" followed by the base64 PKCS#8 DER of an Ed25519 key (as written by failover-agent keygen)`,
		};
	}
	return { ok: true, bytes };
}

// Key ids are derived once per CryptoKey; a private key remembers its public key's id so
// signRequest can name it without the key being extractable.
const keyIds = new WeakMap<CryptoKey, string>();

/** Short fingerprint of a raw public key: base64url of the first 9 bytes of its SHA-256. */
export async function keyIdOfRaw(raw: Uint8Array): Promise<string> {
	return toBase64Url((await sha256(raw)).slice(0, 9));
}

/** Key id of a public key (computed) or of a private key imported or generated here (remembered). */
export async function keyId(key: CryptoKey): Promise<string | undefined> {
	const known = keyIds.get(key);
	if (known !== undefined || key.type !== "public") return known;
	const id = await keyIdOfRaw(
		new Uint8Array((await crypto.subtle.exportKey("raw", key)) as ArrayBuffer),
	);
	keyIds.set(key, id);
	return id;
}

export async function importPublicKey(text: string): Promise<CryptoKey> {
	const decoded = decodePublicKey(text);
	if (!decoded.ok) throw new KeyFormatError(`public key: ${decoded.message}`);
	const key = await crypto.subtle.importKey("raw", ownBytes(decoded.bytes), ALGORITHM, true, [
		"verify",
	]);
	keyIds.set(key, await keyIdOfRaw(decoded.bytes));
	return key;
}

/** Imports a signing key. The returned key is not extractable. */
export async function importPrivateKey(text: string): Promise<CryptoKey> {
	return (await importSigningKey(text)).privateKey;
}

export interface ImportedSigningKey {
	/** Not extractable. */
	privateKey: CryptoKey;
	/** "ed25519:<base64url raw>" of the matching public key (for an agent: what the Worker's config names). */
	publicKeyText: string;
}

/** Imports a private key and derives its public key text. Throws KeyFormatError for anything else. */
export async function importSigningKey(text: string): Promise<ImportedSigningKey> {
	const decoded = decodePrivateKey(text);
	if (!decoded.ok) throw new KeyFormatError(`private key: ${decoded.message}`);
	let jwk: JsonWebKey;
	try {
		// Imported extractable once, only to read the public half (JWK "x") for the key id.
		const extractable = await crypto.subtle.importKey(
			"pkcs8",
			ownBytes(decoded.bytes),
			ALGORITHM,
			true,
			["sign"],
		);
		jwk = (await crypto.subtle.exportKey("jwk", extractable)) as JsonWebKey;
	} catch {
		throw new KeyFormatError("private key: the bytes are not a PKCS#8 Ed25519 private key");
	}
	const key = await crypto.subtle.importKey("pkcs8", ownBytes(decoded.bytes), ALGORITHM, false, [
		"sign",
	]);
	const raw = jwk.x === undefined ? null : fromBase64Url(jwk.x);
	if (raw === null || raw.length !== 32) {
		throw new KeyFormatError("private key: the key has no Ed25519 public half");
	}
	keyIds.set(key, await keyIdOfRaw(raw));
	return { privateKey: key, publicKeyText: PUBLIC_KEY_PREFIX + toBase64Url(raw) };
}

export async function exportPublicKey(key: CryptoKey): Promise<string> {
	const raw = new Uint8Array((await crypto.subtle.exportKey("raw", key)) as ArrayBuffer);
	return PUBLIC_KEY_PREFIX + toBase64Url(raw);
}

/** Only works for an extractable key, i.e. one from generateKeyPair(). */
export async function exportPrivateKey(key: CryptoKey): Promise<string> {
	const der = new Uint8Array((await crypto.subtle.exportKey("pkcs8", key)) as ArrayBuffer);
	return PRIVATE_KEY_PREFIX + toBase64(der);
}

export interface GeneratedKeyPair {
	privateKey: CryptoKey;
	publicKey: CryptoKey;
	/** "ed25519-priv:<base64 PKCS#8>", for the key file and the Worker secret. */
	privateKeyText: string;
	/** "ed25519:<base64url raw>", for agent configs. */
	publicKeyText: string;
	keyId: string;
}

export async function generateKeyPair(): Promise<GeneratedKeyPair> {
	const pair = (await crypto.subtle.generateKey(ALGORITHM, true, [
		"sign",
		"verify",
	])) as CryptoKeyPair;
	const publicKeyText = await exportPublicKey(pair.publicKey);
	const id = (await keyId(pair.publicKey)) ?? "";
	keyIds.set(pair.privateKey, id);
	return {
		privateKey: pair.privateKey,
		publicKey: pair.publicKey,
		privateKeyText: await exportPrivateKey(pair.privateKey),
		publicKeyText,
		keyId: id,
	};
}

/**
 * The public key text ("ed25519:...") of private key text, so a tool that finds an existing key file
 * (`failover-gateway init` run again) can name its public half without keeping a second file.
 * Throws KeyFormatError for text that is not a private key in the documented encoding.
 */
export async function publicKeyTextOf(privateKeyText: string): Promise<string> {
	const decoded = decodePrivateKey(privateKeyText);
	if (!decoded.ok) throw new KeyFormatError(`private key: ${decoded.message}`);
	let jwk: JsonWebKey;
	try {
		const key = await crypto.subtle.importKey("pkcs8", ownBytes(decoded.bytes), ALGORITHM, true, [
			"sign",
		]);
		jwk = (await crypto.subtle.exportKey("jwk", key)) as JsonWebKey;
	} catch {
		throw new KeyFormatError("private key: the bytes are not a PKCS#8 Ed25519 private key");
	}
	const raw = jwk.x === undefined ? null : fromBase64Url(jwk.x);
	if (raw === null || raw.length !== 32) throw new KeyFormatError("private key: no public half");
	return PUBLIC_KEY_PREFIX + toBase64Url(raw);
}
