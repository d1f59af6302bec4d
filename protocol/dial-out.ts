// The dial-out transport: frames on the agent's outbound WebSocket, their limits, close codes and the hello signature.
import { fromBase64Url, ownBytes, toBase64Url, utf8 } from "./encoding";
import { keyId } from "./keys";
import { MAX_BODY_BYTES, MAX_SKEW_MS } from "./routes";
import { ROLES, StatusResponseSchema } from "./schemas";
import { PROTOCOL_VERSION, SIGNING_CONTEXT } from "./version";
import * as z from "./zod";

/** The Worker route an agent dials: `wss://<worker>/agent/v1/connect?pair=<pair>&side=<side>`. */
export const DIAL_OUT_PATH = "/agent/v1/connect";

/**
 * Largest frame either side accepts, bytes. A status is about 2 KB and a command envelope under 1 KB;
 * a response carries an operation record (bounded step output, see MAX_STEP_OUTPUT_CHARS). 64 KiB is
 * far above any honest frame and small enough that a flood costs the Durable Object nothing.
 */
export const MAX_FRAME_BYTES = 65_536;

/** An agent that has not said hello this long after connecting is closed (ms). */
export const HELLO_TIMEOUT_MS = 10_000;

/**
 * An authenticated agent that has sent no frame this long is closed, so that it redials (ms): 8 heartbeats,
 * never under 15 s, as the agent allows the Worker's ticks. A path that still carries the Worker's ticks
 * but not the agent's pushes is half-open the other way; the agent alone would never notice it.
 */
export function silentCloseMs(heartbeatMs: number): number {
	return Math.max(15_000, 8 * heartbeatMs);
}

/**
 * Application close codes (RFC 6455 leaves 4000-4999 to applications). The close reason names the
 * problem in words; these codes let the agent decide whether to retry soon, later, or never.
 */
export const CLOSE = {
	/** A frame that is not JSON, not a known frame, or any frame before hello. Retry with backoff. */
	malformed: 4400,
	/** Hello signature invalid, unknown key, stale timestamp. Retry slowly: a config must change. */
	unauthenticated: 4401,
	/** The pair or side is not configured for dial-out on this Worker. Retry slowly. */
	forbidden: 4403,
	/** No hello within HELLO_TIMEOUT_MS. */
	helloTimeout: 4408,
	/** A newer connection for the same pair and side replaced this one. Do not fight it. */
	replaced: 4409,
	/** An authenticated agent sent nothing for silentCloseMs (a half-open path): redial. */
	silent: 4410,
	/** A frame over MAX_FRAME_BYTES. */
	tooLarge: 4413,
	/** Too many frames (a heartbeat flood). */
	rateLimited: 4429,
	/** The agent speaks another protocol version. */
	version: 4426,
	/** The Worker failed handling a frame (a bug, counted as "internal error"). Retry with backoff. */
	internal: 4500,
} as const;

/** Close reasons are at most 123 bytes of UTF-8 (RFC 6455 §5.5: control frame payload 125 bytes). */
export function closeReason(text: string): string {
	const bytes = utf8(text);
	if (bytes.length <= 123) return text;
	let cut = text.slice(0, 120);
	while (utf8(cut).length > 120) cut = cut.slice(0, -1);
	return `${cut}...`;
}

const Side = z.enum(ROLES);
/** The Worker's clock, Unix ms: an integer, so a garbled or absurd time (1e308, -0.5) is no frame at all. */
const ServerTime = z.int().check(z.minimum(0), z.maximum(Number.MAX_SAFE_INTEGER));
const Nonce = z.string().check(z.regex(/^[A-Za-z0-9_-]{22}$/, "16 bytes of base64url"));
/**
 * A JSON object with an own "__proto__" key (JSON.parse makes one): z.record skips that key silently
 * rather than checking it against the key pattern, so it is refused here, before the record sees it.
 */
const NoProtoKey = z.custom<unknown>(
	(v) => typeof v !== "object" || v === null || !Object.hasOwn(v, "__proto__"),
	'a "__proto__" key, which is no protocol header',
);
/** Only the protocol's own headers travel in an envelope (signature, timestamp, nonce, key id, content type). */
const EnvelopeHeaders = z.pipe(
	NoProtoKey,
	z
		.record(
			z.string().check(z.regex(/^(x-fg-[a-z0-9-]{1,32}|content-type)$/)),
			z.string().check(z.maxLength(4096)),
		)
		.check(z.refine((h) => Object.keys(h).length <= 16, "at most 16 headers")),
);

// --- Worker -> agent ------------------------------------------------------------------------------

/** Sent once, right after the Worker accepts the socket: the agent signs this challenge in its hello. */
export const ChallengeFrameSchema = z.strictObject({
	t: z.literal("challenge"),
	challenge: Nonce,
	serverTime: ServerTime,
});

/** Hello accepted: how often to push status (ms), derived from the pair's probe interval. */
export const WelcomeFrameSchema = z.strictObject({
	t: z.literal("welcome"),
	pair: z.string().check(z.maxLength(63)),
	side: Side,
	heartbeatMs: z.int().check(z.minimum(250), z.maximum(300_000)),
	serverTime: ServerTime,
});

/**
 * A watchdog-signed request, exactly as the HTTP transport would send it: method, path, the x-fg-*
 * headers and the body. The agent runs it through the same verification and replay cache.
 */
export const RequestFrameSchema = z.strictObject({
	t: z.literal("request"),
	id: z.int().check(z.minimum(0), z.maximum(Number.MAX_SAFE_INTEGER)),
	method: z.enum(["GET", "POST"]),
	path: z.string().check(z.regex(/^\/v1\/[a-z]{1,16}$/)),
	headers: EnvelopeHeaders,
	body: z.nullable(z.string().check(z.maxLength(MAX_BODY_BYTES))),
});

/** Sent every tick: keeps the socket known to be alive, and carries the lease when there is one. */
export const TickFrameSchema = z.strictObject({
	t: z.literal("tick"),
	serverTime: ServerTime,
	/** Opaque to the transport: the lease as the HTTP transport's lease header would carry it. */
	lease: z.nullable(z.string().check(z.maxLength(4096))),
});

export const ServerFrameSchema = z.discriminatedUnion("t", [
	ChallengeFrameSchema,
	WelcomeFrameSchema,
	RequestFrameSchema,
	TickFrameSchema,
]);
export type ServerFrame = z.infer<typeof ServerFrameSchema>;

// --- agent -> Worker ------------------------------------------------------------------------------

export const HelloFrameSchema = z.strictObject({
	t: z.literal("hello"),
	protocol: z.int(),
	pair: z.string().check(z.maxLength(63)),
	side: Side,
	/** Unix ms, the agent's clock: must be within MAX_SKEW_MS of the Worker's. */
	timestamp: z.int().check(z.minimum(0)),
	/** Fingerprint of the agent's public key (keyIdOfRaw): lets the Worker say "unknown key". */
	keyId: z.string().check(z.regex(/^[A-Za-z0-9_-]{12}$/)),
	/** Ed25519 over helloCanonical(...), base64url. */
	signature: z.string().check(z.regex(/^[A-Za-z0-9_-]{86}$/)),
});
export type HelloFrame = z.infer<typeof HelloFrameSchema>;

/** The agent's status, pushed every heartbeat and on change. */
export const StatusFrameSchema = z.strictObject({
	t: z.literal("status"),
	seq: z.int().check(z.minimum(0)),
	status: StatusResponseSchema,
});

/** The agent's answer to a request frame: the HTTP status, the protocol headers and the JSON body. */
export const ResponseFrameSchema = z.strictObject({
	t: z.literal("response"),
	id: z.int().check(z.minimum(0), z.maximum(Number.MAX_SAFE_INTEGER)),
	status: z.int().check(z.minimum(100), z.maximum(599)),
	headers: EnvelopeHeaders,
	body: z.string().check(z.maxLength(MAX_FRAME_BYTES)),
});

export const AgentFrameSchema = z.discriminatedUnion("t", [
	HelloFrameSchema,
	StatusFrameSchema,
	ResponseFrameSchema,
]);
export type AgentFrame = z.infer<typeof AgentFrameSchema>;

/** Why parseFrame refused a frame. */
export type FrameFault = "too large" | "binary" | "not JSON" | "invalid frame";

/** Parses one frame's text with `schema`: a value, never a throw (a garbled frame is expected input). */
export function parseFrame<T>(
	schema: z.core.$ZodType<T>,
	data: string | ArrayBuffer,
): { ok: true; frame: T } | { ok: false; code: number; kind: FrameFault; message: string } {
	const size = typeof data === "string" ? utf8(data).length : data.byteLength;
	if (size > MAX_FRAME_BYTES) {
		return {
			ok: false,
			code: CLOSE.tooLarge,
			kind: "too large",
			message: `frame of ${size} bytes, over ${MAX_FRAME_BYTES}`,
		};
	}
	if (typeof data !== "string") {
		return {
			ok: false,
			code: CLOSE.malformed,
			kind: "binary",
			message: "binary frame; expected JSON text",
		};
	}
	let json: unknown;
	try {
		json = JSON.parse(data);
	} catch {
		return { ok: false, code: CLOSE.malformed, kind: "not JSON", message: "frame is not JSON" };
	}
	const parsed = z.safeParse(schema, json);
	if (!parsed.success) {
		const first = parsed.error.issues[0];
		const where = first?.path.length ? first.path.join(".") : "frame";
		return {
			ok: false,
			code: CLOSE.malformed,
			kind: "invalid frame",
			message: `${where}: ${first?.message ?? "invalid"}`,
		};
	}
	return { ok: true, frame: parsed.data };
}

// --- hello signature ------------------------------------------------------------------------------

/** "failover-gateway/v1\ndial-out hello\nPAIR\nSIDE\nCHALLENGE\nTIMESTAMP": binds the hello to one connection. */
export function helloCanonical(input: {
	pair: string;
	side: string;
	challenge: string;
	timestamp: number;
}): string {
	return [
		SIGNING_CONTEXT,
		"dial-out hello",
		input.pair,
		input.side,
		input.challenge,
		String(input.timestamp),
	].join("\n");
}

/** Builds the agent's hello for `challenge`, signed with the agent's private key. */
export async function signHello(input: {
	pair: string;
	side: "primary" | "standby";
	challenge: string;
	privateKey: CryptoKey;
	now: number;
}): Promise<HelloFrame> {
	const timestamp = Math.trunc(input.now);
	const signature = new Uint8Array(
		await crypto.subtle.sign(
			"Ed25519",
			input.privateKey,
			ownBytes(utf8(helloCanonical({ ...input, timestamp }))),
		),
	);
	const id = await keyId(input.privateKey);
	if (id === undefined) throw new TypeError("signHello: the private key was not imported here");
	return {
		t: "hello",
		protocol: PROTOCOL_VERSION,
		pair: input.pair,
		side: input.side,
		timestamp,
		keyId: id,
		signature: toBase64Url(signature),
	};
}

/** Why a hello was refused, as counted in the Worker's connection status. */
export type HelloRefusal =
	| "version"
	| "wrong pair or side"
	| "clock skew"
	| "unknown key"
	| "bad signature";

export type HelloVerdict =
	| { ok: true }
	| {
			ok: false;
			code: (typeof CLOSE)[keyof typeof CLOSE];
			kind: HelloRefusal;
			message: string;
	  };

/**
 * Checks a hello against the connection's challenge, the pair and side the socket was opened for,
 * and the agent public key configured for them. `now` is the Worker's clock (ms).
 */
export async function verifyHello(input: {
	hello: HelloFrame;
	challenge: string;
	pair: string;
	side: string;
	publicKey: CryptoKey;
	now: number;
}): Promise<HelloVerdict> {
	const { hello } = input;
	if (hello.protocol !== PROTOCOL_VERSION) {
		return {
			ok: false,
			code: CLOSE.version,
			kind: "version",
			message: `protocol ${hello.protocol}; this Worker speaks ${PROTOCOL_VERSION}: update the agent or the Worker`,
		};
	}
	if (hello.pair !== input.pair || hello.side !== input.side) {
		return {
			ok: false,
			code: CLOSE.forbidden,
			kind: "wrong pair or side",
			message: `hello names ${hello.pair}/${hello.side} on a socket opened for ${input.pair}/${input.side}`,
		};
	}
	if (Math.abs(hello.timestamp - input.now) > MAX_SKEW_MS) {
		return {
			ok: false,
			code: CLOSE.unauthenticated,
			kind: "clock skew",
			message: `clock off by ${Math.round((hello.timestamp - input.now) / 1000)} s (max ${MAX_SKEW_MS / 1000} s): synchronize the agent's clock`,
		};
	}
	const expectedId = await keyId(input.publicKey);
	if (expectedId !== hello.keyId) {
		return {
			ok: false,
			code: CLOSE.unauthenticated,
			kind: "unknown key",
			message: `unknown agent key ${hello.keyId}; this Worker expects ${expectedId} for ${input.pair}/${input.side}`,
		};
	}
	const signature = fromBase64Url(hello.signature);
	const valid =
		signature !== null &&
		(await crypto.subtle.verify(
			"Ed25519",
			input.publicKey,
			ownBytes(signature),
			ownBytes(utf8(helloCanonical({ ...hello, challenge: input.challenge }))),
		));
	return valid
		? { ok: true }
		: {
				ok: false,
				code: CLOSE.unauthenticated,
				kind: "bad signature",
				message: "hello signature does not verify",
			};
}

/** A fresh challenge: 16 random bytes, base64url. */
export function newChallenge(): string {
	return toBase64Url(crypto.getRandomValues(new Uint8Array(16)));
}
