// Route paths, auth header names and wire limits: the only place they are spelled out.
import type { CommandAction } from "./schemas";

export const ROUTES = {
	healthz: "/healthz",
	status: "/v1/status",
	promote: "/v1/promote",
	demote: "/v1/demote",
	sync: "/v1/sync",
} as const;

/** The POST route for each command action. */
export const ACTION_ROUTES: Readonly<Record<CommandAction, string>> = {
	promote: ROUTES.promote,
	demote: ROUTES.demote,
	sync: ROUTES.sync,
};

export const HEADERS = {
	/** Unix time in ms, as an integer string. */
	timestamp: "x-fg-timestamp",
	/** 16 random bytes, base64url without padding. */
	nonce: "x-fg-nonce",
	/** Ed25519 signature of the canonical string, base64url without padding. */
	signature: "x-fg-signature",
	/**
	 * Optional fingerprint of the signing public key (see keyId()). Not signed: it only lets the
	 * agent tell "signed by a key I do not know" from "bad signature"; verification never trusts it.
	 */
	keyId: "x-fg-key-id",
	/**
	 * Who the request is for: "PAIR/SIDE/AGENT" (see formatAudience()). Signed: it is a line of the
	 * canonical string, so a request replayed to another agent fails with "wrong-audience".
	 */
	audience: "x-fg-audience",
	/** On answers: the agent's Ed25519 signature of the answer's canonical string, base64url. */
	answerSignature: "x-fg-answer-signature",
	/** On answers: the request nonce the agent answered (also inside the signature; here for clear errors). */
	answerNonce: "x-fg-answer-nonce",
	/**
	 * The watchdog's lease (protocol/lease.ts), sent with every status request to both agents. Signed on
	 * its own, so it is not part of the request's canonical string.
	 */
	lease: "x-fg-lease",
} as const;

/** Largest accepted request body: commands are a few dozen bytes, so anything near this is abuse. */
export const MAX_BODY_BYTES = 16_384;

/** Allowed clock difference between signer and verifier (either direction). */
export const MAX_SKEW_MS = 30_000;

/** Upper bound of a command's waitMs: stays under common 30 s proxy and Worker subrequest limits. */
export const MAX_WAIT_MS = 25_000;
