// Secrets are set with `wrangler secret put` (or .dev.vars locally); `wrangler types` cannot see them.
interface Env {
	/** Bearer token for operator endpoints (pause, resume, promote, ...). */
	ADMIN_TOKEN?: string;
	/** "public" (default): anyone may read the pair summary (page, /api/v1/pairs); "private": the admin token too. */
	STATUS_PAGE?: string;
	/** The Worker's public URL, linked from notifications (e.g. https://failover.example.workers.dev). */
	PUBLIC_URL?: string;
	/**
	 * Optional dead-man's switch (Healthchecks-style ping URL): the cron GETs it once a minute while
	 * every watch group answers. A secret: the path identifies the check. See worker/src/heartbeat.ts.
	 */
	HEARTBEAT_URL?: string;
	/** Ed25519 private key the watchdog signs agent commands with (see docs/configuration.md). */
	WATCHDOG_PRIVATE_KEY?: string;
	/** Tailscale witness: an API key, or an OAuth client (id + secret) with devices:core:read. */
	TAILSCALE_API_KEY?: string;
	TAILSCALE_OAUTH_CLIENT_ID?: string;
	TAILSCALE_OAUTH_CLIENT_SECRET?: string;
	/**
	 * "1" in local development only (the lab, the demo, the bench, the tests): accept loopback and
	 * plain-http readiness and agent URLs. Never set in a deployment (see protocol/url-policy.ts).
	 */
	LOCAL_DEVELOPMENT?: string;
	/** Tests only: a loopback Tailscale API stand-in. */
	TAILSCALE_API_BASE?: string;
	/** Notifiers (all optional, any combination; parsed by worker/src/notify/config.ts). */
	NOTIFY_DISCORD_URL?: string;
	NOTIFY_SLACK_URL?: string;
	NOTIFY_TELEGRAM_BOT_TOKEN?: string;
	NOTIFY_TELEGRAM_CHAT_ID?: string;
	/** Tests only: a loopback Telegram Bot API stand-in (default https://api.telegram.org). */
	NOTIFY_TELEGRAM_API_BASE?: string;
	/** Full ntfy topic URL, e.g. https://ntfy.sh/my-unguessable-topic; token optional. */
	NOTIFY_NTFY_URL?: string;
	NOTIFY_NTFY_TOKEN?: string;
	/** Generic JSON webhook, signed with HMAC-SHA256 using the secret (x-failover-signature). */
	NOTIFY_WEBHOOK_URL?: string;
	NOTIFY_WEBHOOK_SECRET?: string;
}
