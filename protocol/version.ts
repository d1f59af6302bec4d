// Protocol version spoken between the watchdog Worker and the agent; bumped on any incompatible wire change.

/**
 * 2: every signed request names its audience (pair, side, agent fingerprint) inside the signature, and
 * every answer to an authenticated request is signed by the agent's own key over the request's nonce.
 */
export const PROTOCOL_VERSION = 2 as const;

/** First line of every request's canonical string: binds a signature to this protocol and version. */
export const SIGNING_CONTEXT = "failover-gateway/v2";

/**
 * First line of every answer's canonical string. Different from SIGNING_CONTEXT, so a signed answer can
 * never be presented as a signed request (or the other way round) even if one key signed both.
 */
export const ANSWER_SIGNING_CONTEXT = "failover-gateway/v2/answer";
