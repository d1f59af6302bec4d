// Issue 12 finding 5: a provider's error text is redacted before it is cut, for every place a notifier keeps a secret.
import { describe, expect, it } from "vitest";
import type { Notifier } from "../../../worker/src/notify/config";
import { buildMessage } from "../../../worker/src/notify/message";
import { ERROR_BODY_CHARS, sendAll } from "../../../worker/src/notify/send";
import { event, fakeClock, fakeFetch } from "./fixtures";

// Secrets at their real lengths (a Discord webhook token is 68 characters, a Telegram bot token 46).
const DISCORD_TOKEN = "dQw4w9WgXcQ-Zx8y7w6v5u4t3s2r1q0p_ONMLKJIHGFEDCBAzyxwvutsrqponmlkjihg";
const TELEGRAM_TOKEN = "1234567890:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawq";
const SLACK_SECRET = "XXXXXXXXXXXXXXXXXXXXXXXX";
const NTFY_TOPIC = "alerts-7f3c9b2e41d8a6";
const NTFY_TOKEN = "tk_AgQdq7mVBoFD37zQVN29RhuMzNIz2";
const WEBHOOK_KEY = "qk_5e8d2a7c1b9f4e3d";
const WEBHOOK_SECRET = "whsec_MfKQ9r8GNDbsPw5m2ZcY4L7t";

const CASES: { name: string; notifier: Notifier; secrets: string[] }[] = [
	{
		name: "Discord: token in the webhook path",
		notifier: {
			kind: "discord",
			url: `https://hooks.example.test/api/webhooks/112233445566778899/${DISCORD_TOKEN}`,
		},
		secrets: [DISCORD_TOKEN],
	},
	{
		name: "Telegram: bot token in the API path",
		notifier: {
			kind: "telegram",
			token: TELEGRAM_TOKEN,
			chatId: "-100",
			apiBase: "https://hooks.example.test/tg",
		},
		secrets: [TELEGRAM_TOKEN, encodeURIComponent(TELEGRAM_TOKEN)],
	},
	{
		name: "Slack: secret in the webhook path",
		notifier: {
			kind: "slack",
			url: `https://hooks.example.test/services/T00000000/B00000000/${SLACK_SECRET}`,
		},
		secrets: [SLACK_SECRET],
	},
	{
		name: "ntfy: topic in the URL, token in the Authorization header",
		notifier: { kind: "ntfy", url: `https://hooks.example.test/${NTFY_TOPIC}`, token: NTFY_TOKEN },
		secrets: [NTFY_TOPIC, NTFY_TOKEN],
	},
	{
		name: "generic webhook: key in the URL query, HMAC secret",
		notifier: {
			kind: "webhook",
			url: `https://hooks.example.test/hook?key=${WEBHOOK_KEY}`,
			secret: WEBHOOK_SECRET,
		},
		secrets: [WEBHOOK_KEY, WEBHOOK_SECRET],
	},
];

/** Every 8-character piece of a secret: any of them surviving is a leak (shorter pieces could be chance). */
function pieces(secret: string): string[] {
	const out: string[] = [];
	for (let i = 0; i + 8 <= secret.length; i++) out.push(secret.slice(i, i + 8));
	return out;
}

const msg = buildMessage("home", event());
/** Where send.ts cuts a provider's text (ERROR_BODY_CHARS; a literal so the test also runs on older code). */
const CUT = 200;

describe("notifier error text: redact, then cut (issue 12, finding 5)", () => {
	for (const c of CASES) {
		for (const secret of c.secrets) {
			it(`${c.name}: echoed across the ${CUT}-character cut, no piece survives`, async () => {
				// Every position where the secret straddles the cut, from one character before it to one after.
				for (let before = 1; before < secret.length; before++) {
					const body = `${".".repeat(CUT - before)}${secret} trailing`;
					const net = fakeFetch(() => new Response(body, { status: 400 }));
					const [r] = await sendAll(msg, [c.notifier], { fetch: net.fetch, ...fakeClock() });
					expect(r?.ok).toBe(false);
					for (const p of pieces(secret)) expect(r?.error, `cut after ${before}`).not.toContain(p);
				}
			});
		}
		it(`${c.name}: a network error naming the request, cut mid-secret, leaks nothing`, async () => {
			for (const secret of c.secrets) {
				for (let before = 1; before < secret.length; before += 5) {
					const pad = ".".repeat(Math.max(0, CUT - before - "TypeError: ".length));
					const net = fakeFetch(() => {
						throw new TypeError(`${pad}${secret} refused`);
					});
					const [r] = await sendAll(msg, [c.notifier], {
						fetch: net.fetch,
						...fakeClock(),
						retries: 0,
					});
					for (const p of pieces(secret)) expect(r?.error).not.toContain(p);
				}
			}
		});
	}

	it("still keeps the provider's explanation when it holds no secret", async () => {
		expect(ERROR_BODY_CHARS).toBe(CUT);
		const net = fakeFetch(
			() => new Response('{"message":"Invalid Webhook Token"}', { status: 401 }),
		);
		const [r] = await sendAll(msg, [CASES[0]?.notifier as Notifier], {
			fetch: net.fetch,
			...fakeClock(),
		});
		expect(r?.error).toBe('HTTP 401: {"message":"Invalid Webhook Token"}');
	});
});
