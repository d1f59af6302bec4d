// Secrets are set with `wrangler secret put` (or .dev.vars locally); `wrangler types` cannot see them.
interface Env {
	/** Bearer token for operator endpoints (pause, resume, promote, ...). */
	ADMIN_TOKEN?: string;
	/** Ed25519 private key the watchdog signs agent commands with (see docs/configuration.md). */
	WATCHDOG_PRIVATE_KEY?: string;
	/** Tailscale witness: an API key, or an OAuth client (id + secret) with devices:core:read. */
	TAILSCALE_API_KEY?: string;
	TAILSCALE_OAUTH_CLIENT_ID?: string;
	TAILSCALE_OAUTH_CLIENT_SECRET?: string;
	/** Tests only: a loopback Tailscale API stand-in. */
	TAILSCALE_API_BASE?: string;
}
