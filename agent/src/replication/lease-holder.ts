// Keeps the newest valid watchdog lease this agent has received, and answers "do I hold a fresh lease?".
import {
	isNewerLease,
	type Lease,
	type LeaseRejection,
	leaseExpiresAt,
	type Role,
	verifyLease,
} from "../../../protocol";

export type LeaseOffer =
	| { readonly kind: "kept"; readonly lease: Lease }
	/** Valid, but not newer than the one held (a retried or reordered request). */
	| { readonly kind: "older"; readonly lease: Lease }
	| { readonly kind: "other-pair"; readonly lease: Lease }
	| { readonly kind: "rejected"; readonly code: LeaseRejection; readonly message: string };

/**
 * What the newest lease says, judged on this agent's clock (ms). "fresh": unexpired; `holder` tells
 * whether it names this side; "expired": the newest lease ran out `agoMs` ago; "none": never received one.
 */
export type LeaseView =
	| {
			readonly kind: "fresh";
			readonly lease: Lease;
			readonly holder: boolean;
			readonly expiresInMs: number;
	  }
	| { readonly kind: "expired"; readonly lease: Lease; readonly agoMs: number }
	| { readonly kind: "none" };

export interface LeaseHolderOptions {
	readonly publicKeys: readonly CryptoKey[];
	/** This agent's side of the pair (its configured role). */
	readonly side: Role;
	/** Pair name to insist on; undefined: the first valid lease's pair is adopted and then insisted on. */
	readonly pair?: string;
	readonly now: () => number;
}

/**
 * The one place an agent's authority comes from: replication asks `activeTerm()` before pushing to the
 * main branch, and self-fencing counts from its `onNewLease` arrivals. In memory only: after a restart
 * an agent holds nothing until the watchdog's next status request (one tick); the fence keeps its own
 * durable record of the arrival and length (agent/src/lease-record.ts).
 */
export class LeaseHolder {
	readonly #opts: LeaseHolderOptions;
	#pair: string | undefined;
	#lease: Lease | null = null;
	#receivedAt: number | null = null;
	#lastRejection: { code: LeaseRejection; message: string } | null = null;
	readonly #listeners = new Set<(lease: Lease) => void>();

	constructor(opts: LeaseHolderOptions) {
		this.#opts = opts;
		this.#pair = opts.pair;
	}

	get side(): Role {
		return this.#opts.side;
	}

	/** Verifies a header value and keeps it when it is the newest so far. Never throws for bad input. */
	async offer(text: string): Promise<LeaseOffer> {
		const verified = await verifyLease(text, this.#opts.publicKeys, this.#opts.now());
		if (!verified.ok) {
			this.#lastRejection = { code: verified.code, message: verified.message };
			return { kind: "rejected", code: verified.code, message: verified.message };
		}
		const { lease } = verified;
		if (this.#pair !== undefined && lease.pair !== this.#pair) return { kind: "other-pair", lease };
		if (!isNewerLease(lease, this.#lease)) return { kind: "older", lease };
		this.#pair = lease.pair;
		this.#lease = lease;
		this.#receivedAt = this.#opts.now();
		for (const listener of this.#listeners) listener(lease);
		return { kind: "kept", lease };
	}

	view(now: number = this.#opts.now()): LeaseView {
		const lease = this.#lease;
		if (lease === null) return { kind: "none" };
		const left = leaseExpiresAt(lease) - now;
		if (left <= 0) return { kind: "expired", lease, agoMs: -left };
		return { kind: "fresh", lease, holder: lease.active === this.#opts.side, expiresInMs: left };
	}

	/** The term of a fresh lease naming this side as active, or null: "may I push to the main branch now?". */
	activeTerm(now: number = this.#opts.now()): number | null {
		const v = this.view(now);
		return v.kind === "fresh" && v.holder ? v.lease.term : null;
	}

	/** The newest lease whatever its age (null before the first). */
	get newest(): Lease | null {
		return this.#lease;
	}

	/**
	 * Whether the newest lease was already expired when it arrived (on this agent's clock): the clocks
	 * disagree by more than its lifetime, which no network delay explains. For a "check NTP" hint.
	 */
	expiredOnArrival(): boolean {
		const lease = this.#lease;
		return lease !== null && this.#receivedAt !== null && this.#receivedAt >= leaseExpiresAt(lease);
	}

	/** Why the last rejected offer was rejected (for status and logs), or null. */
	get lastRejection(): { code: LeaseRejection; message: string } | null {
		return this.#lastRejection;
	}

	/** Called with each newly kept lease (replication wakes up on a regained lease). Returns an unsubscribe. */
	onNewLease(listener: (lease: Lease) => void): () => void {
		this.#listeners.add(listener);
		return () => this.#listeners.delete(listener);
	}
}
