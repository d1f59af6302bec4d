// Which URLs a deployed Worker can fetch: one rule for the Worker's config, `init` and `doctor`.

/** `{ ok: true }`, or why a deployed Worker cannot (or must not) fetch the URL, in one sentence. */
export type UrlVerdict = { ok: true } | { ok: false; message: string };

export interface UrlPolicy {
	/**
	 * Local development (the lab, the demo, the tests): loopback hosts and plain http are allowed. Never
	 * set in a deployment: a Worker cannot reach a loopback address, and plain http lets anyone on the
	 * path read and alter agent answers and readiness bodies.
	 */
	allowLocal: boolean;
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** True for 127/8, ::1 and `localhost` (including names under `.localhost`, RFC 6761). */
export function isLoopbackHost(host: string): boolean {
	const h = host.toLowerCase().replace(/^\[|\]$/g, "");
	if (h === "localhost" || h.endsWith(".localhost")) return true;
	if (h === "::1") return true;
	const m = IPV4.exec(h);
	return m !== null && m[1] === "127";
}

function ipv4Class(host: string): "private" | "link-local" | "other" | null {
	const m = IPV4.exec(host);
	if (!m) return null;
	const [a, b] = [Number(m[1]), Number(m[2])];
	// RFC 1918 private ranges, RFC 6598 shared space (Tailscale's 100.64/10), 0/8 "this network".
	if (a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168)) return "private";
	if (a === 100 && b >= 64 && b <= 127) return "private";
	if (a === 0) return "private";
	if (a === 169 && b === 254) return "link-local"; // RFC 3927
	return "other";
}

/**
 * Checks that a Worker deployed on Cloudflare can fetch `text` (a readiness or agent URL).
 * Refused: not an absolute URL; not http(s); credentials in the URL; plain http (unless
 * `allowLocal`); a bare IP address (Workers do not fetch IP addresses: use the Funnel or Tunnel
 * hostname), naming private, shared (Tailscale 100.64/10) and link-local ranges as such; a single-label
 * host (no public DNS name); loopback (unless `allowLocal`).
 */
export function checkWorkerFetchableUrl(text: string, policy: UrlPolicy): UrlVerdict {
	const url = URL.parse(text);
	if (!url) return { ok: false, message: `"${text}" is not an absolute URL` };
	if (url.protocol !== "https:" && url.protocol !== "http:") {
		return { ok: false, message: `expected an https:// URL, got ${url.protocol}` };
	}
	if (url.username || url.password) {
		return {
			ok: false,
			message: "a URL must not carry credentials (user:password@); it would be logged and shown",
		};
	}
	const host = url.hostname.toLowerCase();
	const loopback = isLoopbackHost(host);
	if (loopback) {
		return policy.allowLocal
			? { ok: true }
			: {
					ok: false,
					message: `${host} is a loopback address, which a deployed Worker cannot reach; use the Funnel or Tunnel hostname (loopback is allowed only in local development)`,
				};
	}
	if (url.protocol === "http:" && !policy.allowLocal) {
		return {
			ok: false,
			message:
				"plain http:// lets anyone on the path read and change what the watchdog sees; use the https:// Funnel or Tunnel hostname",
		};
	}
	const v4 = ipv4Class(host);
	if (v4 !== null || host.startsWith("[")) {
		const kind =
			v4 === "private"
				? "a private-range IP address (a tailnet or LAN address)"
				: v4 === "link-local"
					? "a link-local IP address"
					: "a bare IP address";
		return {
			ok: false,
			message: `${host} is ${kind}: a Worker cannot fetch IP addresses; use the primary's Tailscale Funnel (https://<machine>.<tailnet>.ts.net) or Cloudflare Tunnel hostname`,
		};
	}
	if (!host.includes(".")) {
		return {
			ok: false,
			message: `${host} is a single-label name with no public DNS; use the Funnel or Tunnel hostname`,
		};
	}
	return { ok: true };
}
