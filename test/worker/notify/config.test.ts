import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { describeConfigError, parseNotifyConfig } from "../../../worker/src/notify/config";

const TG_TOKEN = "123456789:AAEsecretsecretsecretsecret_-x";
const GOOD = {
	NOTIFY_DISCORD_URL: "https://hooks.example.test/api/webhooks/1/discordsecret",
	NOTIFY_SLACK_URL: "https://hooks.example.test/services/T0/B0/slacksecret",
	NOTIFY_TELEGRAM_BOT_TOKEN: TG_TOKEN,
	NOTIFY_TELEGRAM_CHAT_ID: "-1001234567890",
	NOTIFY_NTFY_URL: "https://hooks.example.test/ntfy/secret-topic",
	NOTIFY_NTFY_TOKEN: "tk_ntfysecret",
	NOTIFY_WEBHOOK_URL: "https://hooks.example.test/hook",
	NOTIFY_WEBHOOK_SECRET: "0123456789abcdef0123456789abcdef",
};

describe("parseNotifyConfig", () => {
	it("configures nothing when nothing is set", () => {
		expect(parseNotifyConfig({})).toEqual({ notifiers: [], errors: [] });
	});

	it("takes the Worker's Env as it is (no notifier configured in wrangler.toml)", () => {
		const workerEnv: Env = env;
		expect(parseNotifyConfig(workerEnv)).toEqual({ notifiers: [], errors: [] });
	});

	it("treats blank values as unset", () => {
		const c = parseNotifyConfig({ NOTIFY_DISCORD_URL: "  ", NOTIFY_WEBHOOK_SECRET: "" });
		expect(c).toEqual({ notifiers: [], errors: [] });
	});

	it("parses every notifier into a frozen list", () => {
		const c = parseNotifyConfig(GOOD);
		expect(c.errors).toEqual([]);
		expect(c.notifiers).toEqual([
			{ kind: "discord", url: GOOD.NOTIFY_DISCORD_URL },
			{ kind: "slack", url: GOOD.NOTIFY_SLACK_URL },
			{
				kind: "telegram",
				token: TG_TOKEN,
				chatId: "-1001234567890",
				apiBase: "https://api.telegram.org",
			},
			{ kind: "ntfy", url: GOOD.NOTIFY_NTFY_URL, token: "tk_ntfysecret" },
			{ kind: "webhook", url: GOOD.NOTIFY_WEBHOOK_URL, secret: GOOD.NOTIFY_WEBHOOK_SECRET },
		]);
		expect(Object.isFrozen(c)).toBe(true);
		expect(Object.isFrozen(c.notifiers)).toBe(true);
		expect(Object.isFrozen(c.notifiers[0])).toBe(true);
	});

	it("accepts any combination, e.g. ntfy alone without a token", () => {
		const c = parseNotifyConfig({ NOTIFY_NTFY_URL: "https://hooks.example.test/topic" });
		expect(c).toEqual({
			notifiers: [{ kind: "ntfy", url: "https://hooks.example.test/topic" }],
			errors: [],
		});
	});

	it("accepts a numeric chat id, an @channel, and an API base override without its trailing slash", () => {
		const a = parseNotifyConfig({
			NOTIFY_TELEGRAM_BOT_TOKEN: TG_TOKEN,
			NOTIFY_TELEGRAM_CHAT_ID: 42,
			NOTIFY_TELEGRAM_API_BASE: "http://127.0.0.1:8787/tg/",
		});
		expect(a.errors).toEqual([]);
		expect(a.notifiers[0]).toMatchObject({ chatId: "42", apiBase: "http://127.0.0.1:8787/tg" });
		const b = parseNotifyConfig({
			NOTIFY_TELEGRAM_BOT_TOKEN: TG_TOKEN,
			NOTIFY_TELEGRAM_CHAT_ID: "@failover_alerts",
		});
		expect(b.notifiers[0]).toMatchObject({ chatId: "@failover_alerts" });
	});

	it("allows plain http only on loopback", () => {
		const ok = parseNotifyConfig({
			NOTIFY_DISCORD_URL: "http://127.0.0.1:9000/d",
			NOTIFY_SLACK_URL: "http://localhost:9000/s",
		});
		expect(ok.errors).toEqual([]);
		expect(ok.notifiers).toHaveLength(2);
		const bad = parseNotifyConfig({ NOTIFY_DISCORD_URL: "http://hooks.example.test/d" });
		expect(bad.notifiers).toEqual([]);
		expect(bad.errors.map(describeConfigError)).toEqual([
			"NOTIFY_DISCORD_URL: expected an https URL (plain http is allowed only for 127.0.0.1 or localhost)",
		]);
	});

	const cases: [string, Record<string, unknown>, string, RegExp][] = [
		["a non-URL", { NOTIFY_SLACK_URL: "hooks slack" }, "NOTIFY_SLACK_URL", /expected an https URL/],
		[
			"another scheme",
			{ NOTIFY_SLACK_URL: "ftp://hooks.example.test/x" },
			"NOTIFY_SLACK_URL",
			/https URL/,
		],
		[
			"credentials in the URL",
			{ NOTIFY_NTFY_URL: "https://user:pw@hooks.example.test/topic" },
			"NOTIFY_NTFY_URL",
			/no user:password/,
		],
		[
			"a fragment",
			{
				NOTIFY_WEBHOOK_URL: "https://hooks.example.test/h#x",
				NOTIFY_WEBHOOK_SECRET: GOOD.NOTIFY_WEBHOOK_SECRET,
			},
			"NOTIFY_WEBHOOK_URL",
			/#fragment/,
		],
		[
			"a malformed bot token",
			{ NOTIFY_TELEGRAM_BOT_TOKEN: "not-a-token/../x", NOTIFY_TELEGRAM_CHAT_ID: "1" },
			"NOTIFY_TELEGRAM_BOT_TOKEN",
			/bot token from @BotFather/,
		],
		[
			"a bad chat id",
			{ NOTIFY_TELEGRAM_BOT_TOKEN: TG_TOKEN, NOTIFY_TELEGRAM_CHAT_ID: "my chat" },
			"NOTIFY_TELEGRAM_CHAT_ID",
			/numeric chat id/,
		],
		[
			"a token without a chat",
			{ NOTIFY_TELEGRAM_BOT_TOKEN: TG_TOKEN },
			"NOTIFY_TELEGRAM_CHAT_ID",
			/expected a value because NOTIFY_TELEGRAM_BOT_TOKEN is set/,
		],
		[
			"a chat without a token",
			{ NOTIFY_TELEGRAM_CHAT_ID: "1" },
			"NOTIFY_TELEGRAM_BOT_TOKEN",
			/because NOTIFY_TELEGRAM_CHAT_ID is set/,
		],
		[
			"an API base with a query",
			{
				NOTIFY_TELEGRAM_BOT_TOKEN: TG_TOKEN,
				NOTIFY_TELEGRAM_CHAT_ID: "1",
				NOTIFY_TELEGRAM_API_BASE: "https://hooks.example.test/?x=1",
			},
			"NOTIFY_TELEGRAM_API_BASE",
			/without a query/,
		],
		[
			"an http API base off loopback",
			{
				NOTIFY_TELEGRAM_BOT_TOKEN: TG_TOKEN,
				NOTIFY_TELEGRAM_CHAT_ID: "1",
				NOTIFY_TELEGRAM_API_BASE: "http://10.0.0.1",
			},
			"NOTIFY_TELEGRAM_API_BASE",
			/https URL/,
		],
		[
			"an ntfy token alone",
			{ NOTIFY_NTFY_TOKEN: "tk_x" },
			"NOTIFY_NTFY_URL",
			/because NOTIFY_NTFY_TOKEN is set/,
		],
		[
			"an ntfy token with a space",
			{ NOTIFY_NTFY_URL: "https://hooks.example.test/t", NOTIFY_NTFY_TOKEN: "tk x" },
			"NOTIFY_NTFY_TOKEN",
			/no spaces/,
		],
		[
			"a webhook without a secret",
			{ NOTIFY_WEBHOOK_URL: "https://hooks.example.test/h" },
			"NOTIFY_WEBHOOK_SECRET",
			/signed/,
		],
		[
			"a webhook secret without a URL",
			{ NOTIFY_WEBHOOK_SECRET: GOOD.NOTIFY_WEBHOOK_SECRET },
			"NOTIFY_WEBHOOK_URL",
			/because NOTIFY_WEBHOOK_SECRET is set/,
		],
		[
			"a short webhook secret",
			{ NOTIFY_WEBHOOK_URL: "https://hooks.example.test/h", NOTIFY_WEBHOOK_SECRET: "short" },
			"NOTIFY_WEBHOOK_SECRET",
			/at least 16 characters/,
		],
		[
			"a non-string URL",
			{ NOTIFY_DISCORD_URL: 42 },
			"NOTIFY_DISCORD_URL",
			/expected a string, got number/,
		],
	];
	for (const [what, env, variable, message] of cases) {
		it(`rejects ${what}, naming ${variable}, and keeps the other notifiers`, () => {
			const c = parseNotifyConfig({
				...env,
				NOTIFY_DISCORD_URL: env.NOTIFY_DISCORD_URL ?? GOOD.NOTIFY_DISCORD_URL,
			});
			const mine = c.errors.filter((e) => e.path === variable);
			expect(mine.length).toBeGreaterThan(0);
			expect(mine.map((e) => e.message).join("\n")).toMatch(message);
			if (variable !== "NOTIFY_DISCORD_URL") {
				expect(c.notifiers).toEqual([{ kind: "discord", url: GOOD.NOTIFY_DISCORD_URL }]);
			} else {
				expect(c.notifiers).toEqual([]);
			}
		});
	}

	it("never echoes a secret value in an error", () => {
		const secretUrl = "http://hooks.example.test/services/T0/B0/verysecretvalue";
		const c = parseNotifyConfig({
			NOTIFY_SLACK_URL: secretUrl,
			NOTIFY_WEBHOOK_URL: "https://hooks.example.test/h",
			NOTIFY_WEBHOOK_SECRET: "tooshortsecret",
			NOTIFY_TELEGRAM_BOT_TOKEN: "123:verysecretbutmalformed!",
			NOTIFY_TELEGRAM_CHAT_ID: "1",
		});
		expect(c.errors.length).toBe(3);
		const text = c.errors.map(describeConfigError).join("\n");
		expect(text).not.toContain("verysecret");
		expect(text).not.toContain("tooshortsecret");
	});
});
