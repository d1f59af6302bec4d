// Secrets are set with `wrangler secret put` (or .dev.vars locally); `wrangler types` cannot see them.
interface Env {
	/** Bearer token for operator endpoints (pause, resume, promote, ...). */
	ADMIN_TOKEN?: string;
	/** Ed25519 private key the watchdog signs agent commands with (see docs/configuration.md). */
	WATCHDOG_PRIVATE_KEY?: string;
}
