// Tailscale API witness: is the primary's device connected to the control plane? One vote, never a trigger.
import { createFetch, type FetchContext } from "ofetch";
import type { TailscaleView } from "./types";

export type TailscaleAuth =
	| { kind: "api-key"; apiKey: string }
	| { kind: "oauth"; clientId: string; clientSecret: string };

export interface TailscaleWitnessOptions {
	auth: TailscaleAuth;
	fetch?: typeof fetch;
	/** API origin; only tests point it elsewhere (loopback). */
	baseUrl?: string;
	now?: () => number;
}

export interface TailscaleWitness {
	view(deviceId: string, timeoutMs: number): Promise<TailscaleView>;
}

// The control plane changes its mind over minutes, and the API is rate limited: ask at most every 30 s.
const CACHE_MS = 30_000;
// Two retries for 429/5xx: enough to ride out a blip, few enough to stay inside the probe deadline.
const RETRIES = 2;
const RETRY_DELAY_MS = 250;
const RETRY_STATUS = [429, 500, 502, 503, 504];

/** Reads auth from Worker secrets; undefined when no Tailscale credentials are configured. */
export function tailscaleAuthFromEnv(env: {
	TAILSCALE_API_KEY?: string;
	TAILSCALE_OAUTH_CLIENT_ID?: string;
	TAILSCALE_OAUTH_CLIENT_SECRET?: string;
}): TailscaleAuth | undefined {
	if (env.TAILSCALE_OAUTH_CLIENT_ID && env.TAILSCALE_OAUTH_CLIENT_SECRET) {
		return {
			kind: "oauth",
			clientId: env.TAILSCALE_OAUTH_CLIENT_ID,
			clientSecret: env.TAILSCALE_OAUTH_CLIENT_SECRET,
		};
	}
	if (env.TAILSCALE_API_KEY) return { kind: "api-key", apiKey: env.TAILSCALE_API_KEY };
	return undefined;
}

function retryDelay(ctx: FetchContext): number {
	if (ctx.options.signal?.aborted) return 0; // Past the deadline: fail now, don't sleep.
	// Honour Retry-After (seconds) but never wait past a second: the tick has a deadline.
	const ra = Number(ctx.response?.headers.get("retry-after"));
	return Number.isFinite(ra) && ra > 0 ? Math.min(ra * 1000, 1000) : RETRY_DELAY_MS;
}

function describeError(e: unknown): string {
	const err = e as { status?: number; name?: string; cause?: { name?: string } };
	const timedOut = (n?: string) => n === "TimeoutError" || n === "AbortError";
	if (timedOut(err?.name) || timedOut(err?.cause?.name)) return "timed out";
	if (typeof err?.status === "number") {
		if (err.status === 401 || err.status === 403)
			return `HTTP ${err.status}: check the Tailscale API key or OAuth client (scope devices:core:read)`;
		if (err.status === 404) return "HTTP 404: no such device; check witnesses.tailscale.deviceId";
		return `HTTP ${err.status}`;
	}
	return "network error";
}

export function createTailscaleWitness(opts: TailscaleWitnessOptions): TailscaleWitness {
	const now = opts.now ?? Date.now;
	const base = (opts.baseUrl ?? "https://api.tailscale.com").replace(/\/$/, "");
	const $fetch = createFetch({ fetch: opts.fetch ?? ((...a) => fetch(...a)) });
	const cache = new Map<string, { at: number; view: TailscaleView }>();
	let token: { value: string; expiresAt: number } | undefined;

	async function bearer(deadline: number): Promise<string> {
		if (opts.auth.kind === "api-key") return opts.auth.apiKey;
		if (token && token.expiresAt > now()) return token.value;
		const res = await $fetch<{ access_token?: string; expires_in?: number }>(
			`${base}/api/v2/oauth/token`,
			{
				method: "POST",
				body: new URLSearchParams({
					grant_type: "client_credentials",
					client_id: opts.auth.clientId,
					client_secret: opts.auth.clientSecret,
				}),
				signal: AbortSignal.timeout(Math.max(1, deadline - now())),
				retry: RETRIES,
				retryDelay,
				retryStatusCodes: RETRY_STATUS,
			},
		);
		if (!res.access_token) throw Object.assign(new Error("no access_token"), { status: 502 });
		// Refresh a minute early so a token never expires mid-request.
		const ttl = Math.max(60, res.expires_in ?? 3600) - 60;
		token = { value: res.access_token, expiresAt: now() + ttl * 1000 };
		return token.value;
	}

	return {
		async view(deviceId, timeoutMs) {
			const key = deviceId;
			const hit = cache.get(key);
			if (hit && now() - hit.at < CACHE_MS) return hit.view;
			const deadline = now() + timeoutMs;
			let view: TailscaleView;
			try {
				const auth = await bearer(deadline);
				const device = await $fetch<{ connectedToControl?: unknown }>(
					`${base}/api/v2/device/${encodeURIComponent(deviceId)}`,
					{
						query: { fields: "default" },
						headers: { authorization: `Bearer ${auth}` },
						// One deadline for the call and its retries together.
						signal: AbortSignal.timeout(Math.max(1, deadline - now())),
						retry: RETRIES,
						retryDelay,
						retryStatusCodes: RETRY_STATUS,
					},
				);
				view =
					typeof device.connectedToControl === "boolean"
						? { connected: device.connectedToControl }
						: { error: "the API answered without connectedToControl" };
			} catch (e) {
				if ((e as { status?: number }).status === 401) token = undefined;
				view = { error: describeError(e) };
			}
			// Errors are not cached: the next tick asks again.
			if (!("error" in view)) cache.set(key, { at: now(), view });
			return view;
		},
	};
}
