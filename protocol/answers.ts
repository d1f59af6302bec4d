// Agent answers signed by the agent's own Ed25519 key over the request's nonce and audience; pure, web-standard.
import { type Audience, formatAudience } from "./audience";
import { fromBase64Url, ownBytes, sha256, toBase64Url, toHex, utf8 } from "./encoding";
import { HEADERS } from "./routes";
import { type Body, bodyBytes, type HeaderSource, header } from "./signing";
import { ANSWER_SIGNING_CONTEXT } from "./version";

/** What an answer's signature covers: the request it answers (method, path, nonce, audience) and itself. */
export interface AnswerInput {
	method: string;
	path: string;
	/** The nonce of the request being answered (its x-fg-nonce). */
	nonce: string;
	/** The answering agent (its pair, side and fingerprint). */
	audience: Audience;
	/** HTTP status of the answer: signed, so a 200 cannot be turned into a 409 or back. */
	status: number;
	body?: Body;
}

/**
 * "failover-gateway/v2/answer\nMETHOD\nPATH\nNONCE\nPAIR/SIDE/AGENT\nSTATUS\nhex(sha256(body))".
 * The request nonce makes each answer good for one request only: a recorded answer replayed to a later
 * request (or to the other agent's request) does not verify.
 */
export async function answerCanonicalString(input: AnswerInput): Promise<string> {
	const bodyHash = toHex(await sha256(bodyBytes(input.body)));
	return [
		ANSWER_SIGNING_CONTEXT,
		input.method.toUpperCase(),
		input.path,
		input.nonce,
		formatAudience(input.audience),
		String(input.status),
		bodyHash,
	].join("\n");
}

/** Returns the headers the agent adds to its answer. `privateKey` is the agent's own key. */
export async function signAnswer(
	input: AnswerInput & { privateKey: CryptoKey },
): Promise<Record<string, string>> {
	const data = ownBytes(utf8(await answerCanonicalString(input)));
	const signature = new Uint8Array(await crypto.subtle.sign("Ed25519", input.privateKey, data));
	return {
		[HEADERS.answerSignature]: toBase64Url(signature),
		[HEADERS.answerNonce]: input.nonce,
	};
}

export type AnswerFailureCode =
	| "unsigned-answer"
	| "wrong-nonce"
	| "malformed-answer-signature"
	| "bad-answer-signature";

export type AnswerVerdict = { ok: true } | { ok: false; code: AnswerFailureCode; message: string };

/**
 * Checks that the answer was signed by `publicKey` (the agent key the Worker's config names for this
 * side) for exactly this request. Any failure means the answer is not from that agent: the caller must
 * not act on its content (a term, a result), only report it.
 */
export async function verifyAnswer(
	input: AnswerInput & { headers: HeaderSource; publicKey: CryptoKey },
): Promise<AnswerVerdict> {
	const signatureText = header(input.headers, HEADERS.answerSignature);
	if (signatureText === undefined) {
		return {
			ok: false,
			code: "unsigned-answer",
			message: `the answer carries no ${HEADERS.answerSignature}: not from a protocol v2 agent holding its agent key (an older agent, a proxy's page, or a forgery)`,
		};
	}
	const echoed = header(input.headers, HEADERS.answerNonce);
	if (echoed !== undefined && echoed !== input.nonce) {
		return {
			ok: false,
			code: "wrong-nonce",
			message: `the answer is for request nonce ${echoed.slice(0, 32)}, not this request's ${input.nonce}: a replayed answer`,
		};
	}
	const signature = fromBase64Url(signatureText);
	if (signature === null || signature.length !== 64) {
		return {
			ok: false,
			code: "malformed-answer-signature",
			message: `${HEADERS.answerSignature} is not a 64-byte Ed25519 signature in base64url`,
		};
	}
	const data = ownBytes(utf8(await answerCanonicalString(input)));
	if (await crypto.subtle.verify("Ed25519", input.publicKey, ownBytes(signature), data)) {
		return { ok: true };
	}
	return {
		ok: false,
		code: "bad-answer-signature",
		message:
			"the answer's signature does not match this request and the agent key configured for this side (a forged or altered answer, or agentPublicKey does not match the agent's agentKeyFile)",
	};
}
