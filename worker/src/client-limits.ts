// Per-client-address rate limits: the Workers Rate Limiting bindings, or a per-isolate counter when one is absent.

/** The part of the Workers Rate Limiting binding used here: `limit({ key })` resolves `{ success }`. */
export interface Limiter {
	limit(options: { key: string }): Promise<{ success: boolean }>;
}

/** The limits, as configured in wrangler.toml ([[ratelimits]]); the fallback counters use the same numbers. */
export const LIMITS = {
	/**
	 * Anonymous reads (/, /healthz, /api/v1/pairs) per address: 60 a minute. An open status page refreshes
	 * at most every 10 s (6 a minute) and an uptime monitor about once a minute, so a household or an
	 * office behind one address fits several times over, and a flood is cut to one request a second.
	 */
	anonymous: { binding: "ANON_LIMITER", limit: 60, periodMs: 60_000 },
	/**
	 * Failed admin-token attempts per address: 10 a minute. Enough for a person mistyping; a guesser gets
	 * 14,400 tries a day per address against a token of 190 bits or more (see admin-token.ts).
	 */
	adminFailures: { binding: "ADMIN_FAIL_LIMITER", limit: 10, periodMs: 60_000 },
	/**
	 * Dial-out upgrades (/agent/v1/connect) per address: 30 a minute, counted before anything else, so a
	 * reconnect storm or an anonymous flood costs a counter, never a Durable Object request or an Ed25519
	 * verify. An agent connects once per start, redeploy or network change; while the Worker is
	 * unreachable its backoff (1 s doubling, full jitter, 500 ms floor) makes about 7 tries in the first
	 * minute, so both agents of a pair behind one address stay at half the limit. Past it, the agent's
	 * backoff simply waits longer.
	 */
	dialOut: { binding: "DIAL_LIMITER", limit: 30, periodMs: 60_000 },
} as const;

export type LimitName = keyof typeof LIMITS;

/**
 * Fixed-window counter in this isolate's memory: the fallback when a binding is not configured (local
 * tools, or a wrangler.toml without [[ratelimits]]). It bounds one isolate only, and says so on /healthz.
 */
export class MemoryLimiter implements Limiter {
	private readonly windows = new Map<string, { start: number; count: number }>();

	constructor(
		private readonly max: number,
		private readonly periodMs: number,
		private readonly clock: () => number = () => Date.now(),
		// Bounds memory under a flood of distinct addresses: past it, the oldest window is dropped.
		private readonly maxKeys = 10_000,
	) {}

	async limit({ key }: { key: string }): Promise<{ success: boolean }> {
		const now = this.clock();
		let w = this.windows.get(key);
		if (!w || now - w.start >= this.periodMs) {
			this.windows.delete(key);
			if (this.windows.size >= this.maxKeys) {
				const oldest = this.windows.keys().next().value;
				if (oldest !== undefined) this.windows.delete(oldest);
			}
			w = { start: now, count: 0 };
			this.windows.set(key, w);
		}
		w.count++;
		return { success: w.count <= this.max };
	}
}

const fallbacks: Record<LimitName, MemoryLimiter> = {
	anonymous: new MemoryLimiter(LIMITS.anonymous.limit, LIMITS.anonymous.periodMs),
	adminFailures: new MemoryLimiter(LIMITS.adminFailures.limit, LIMITS.adminFailures.periodMs),
	dialOut: new MemoryLimiter(LIMITS.dialOut.limit, LIMITS.dialOut.periodMs),
};

/** The limiter for `name`: the binding when configured, else this isolate's counter (`bound: false`). */
export function limiterFor(env: object, name: LimitName): { limiter: Limiter; bound: boolean } {
	// Read loosely: the bindings are optional, and generated Env types would declare them required.
	const binding = (env as Record<string, unknown>)[LIMITS[name].binding] as Limiter | undefined;
	if (binding && typeof binding.limit === "function") return { limiter: binding, bound: true };
	return { limiter: fallbacks[name], bound: false };
}

/**
 * Counts one request of `key` against `name`. A binding that fails lets the request through (logged):
 * the per-isolate memo still bounds what anonymous reads cost, and the token still guards admin routes.
 */
export async function withinLimit(env: object, name: LimitName, key: string): Promise<boolean> {
	const { limiter } = limiterFor(env, name);
	try {
		return (await limiter.limit({ key })).success;
	} catch (e) {
		console.error(`rate limiter ${LIMITS[name].binding} failed; letting the request through`, e);
		return true;
	}
}

/**
 * The client's address, as Cloudflare's edge sets it on every request from the Internet. Absent only for
 * requests that did not come through the edge (tests, service bindings): those are not rate-limited.
 */
export function clientAddress(headers: { get(name: string): string | null }): string | undefined {
	const ip = headers.get("cf-connecting-ip")?.trim();
	return ip ? ip.slice(0, 64) : undefined;
}

/**
 * A loopback client address: only local development (wrangler dev sets CF-Connecting-IP to the caller's
 * address) ever shows one, since Cloudflare's edge sets the real client address and a client cannot
 * override it. Used where every local agent sharing 127.0.0.1 would otherwise share one budget.
 */
export function isLoopback(ip: string): boolean {
	return ip === "::1" || ip.startsWith("127.") || ip === "::ffff:127.0.0.1";
}

/** One sentence per limit that runs on the per-isolate fallback, for /healthz. */
export function limiterProblems(env: object): string[] {
	return (Object.keys(LIMITS) as LimitName[])
		.filter((n) => !limiterFor(env, n).bound)
		.map(
			(n) =>
				`rate limit ${LIMITS[n].binding} is not bound: counting per isolate only; add its [[ratelimits]] entry from wrangler.toml`,
		);
}
