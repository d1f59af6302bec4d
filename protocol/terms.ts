// Bounds on the term (epoch) every command carries: small enough that no arithmetic on it overflows.

/**
 * Largest term either side issues or accepts: 2^31 - 1. At the damping limit of 60 failovers an hour a
 * pair would need about 4,000 years to reach it, and a term this size stays far below
 * Number.MAX_SAFE_INTEGER, so `term + 1` is always exact and always valid (the term-poisoning finding:
 * a reported term near MAX_SAFE_INTEGER made every later promotion fail schema validation).
 */
export const MAX_TERM = 2_147_483_647;

/**
 * The largest jump the watchdog adopts from a term an agent reports. A legitimate standby is ahead by
 * at most a few terms (a promotion retried after a stale-term rejection, an operator's forced
 * promotions); anything larger is recorded as a `term-anomaly` and left to the operator.
 */
export const MAX_TERM_ADOPT_JUMP = 10;
