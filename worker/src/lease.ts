// Which side holds the watchdog's lease in a pair state, and the signed lease the Worker sends to both agents.
import { DEFAULT_LEASE_SECONDS, type Lease, signLease } from "../../protocol";
import type { PairState, Side } from "./types";

/**
 * The side that may replicate to the main branch in this state: nobody while the roles are changing
 * (promoting, demoting: the old side must stop before the new one starts), otherwise the active side.
 * Paused, held, suspect-partition and both-down keep `state.active`: the roles have not changed, and the
 * side that cannot be reached simply stops receiving renewals, so its lease runs out on its own.
 */
export function leaseHolder(state: Pick<PairState, "state" | "active">): Side | null {
	switch (state.state) {
		case "promoting":
		case "demoting":
			return null;
		case "primary-active":
		case "standby-active":
		case "suspect-partition":
		case "paused":
		case "held":
		case "both-down":
			return state.active;
		default:
			return state.state satisfies never;
	}
}

/** The lease for this pair in this state, issued at `now` (ms since epoch), valid `leaseSeconds` (s). */
export function buildLease(
	pair: string,
	state: Pick<PairState, "state" | "active" | "term">,
	now: number,
	leaseSeconds: number = DEFAULT_LEASE_SECONDS,
): Lease {
	return {
		pair,
		active: leaseHolder(state),
		term: state.term,
		issuedAt: Math.trunc(now),
		leaseSeconds,
	};
}

/** The `x-fg-lease` header value for this state; one signature serves both agents of the tick. */
export async function signedLeaseFor(
	pair: string,
	state: Pick<PairState, "state" | "active" | "term">,
	now: number,
	privateKey: CryptoKey,
	leaseSeconds: number = DEFAULT_LEASE_SECONDS,
): Promise<string> {
	return signLease(buildLease(pair, state, now, leaseSeconds), privateKey);
}
