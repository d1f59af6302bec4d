// Notifier configuration: Worker secrets/vars parsed once with zod into a frozen list; one bad notifier never disables the others.
import { z } from "zod";
import type { ConfigError } from "../config";

export const NOTIFY_VARS = [
	"NOTIFY_DISCORD_URL",
	"NOTIFY_SLACK_URL",
	"NOTIFY_TELEGRAM_BOT_TOKEN",
	"NOTIFY_TELEGRAM_CHAT_ID",
	"NOTIFY_TELEGRAM_API_BASE",
	"NOTIFY_NTFY_URL",
	"NOTIFY_NTFY_TOKEN",
	"NOTIFY_WEBHOOK_URL",
	"NOTIFY_WEBHOOK_SECRET",
] as const;
export type NotifyVar = (typeof NOTIFY_VARS)[number];

/** Anything with the notifier variables on it: the Worker's Env, or a plain object in tests. */
export type NotifyEnv = { readonly [K in NotifyVar]?: unknown };

export const TELEGRAM_API_BASE = "https://api.telegram.org";

export type Notifier =
	| { readonly kind: "discord"; readonly url: string }
	| { readonly kind: "slack"; readonly url: string }
	| {
			readonly kind: "telegram";
			readonly token: string;
			readonly chatId: string;
			/** Without a trailing slash. */
			readonly apiBase: string;
	  }
	| { readonly kind: "ntfy"; readonly url: string; readonly token?: string }
	| { readonly kind: "webhook"; readonly url: string; readonly secret: string };

export type NotifierKind = Notifier["kind"];

export interface NotifyConfig {
	readonly notifiers: readonly Notifier[];
	/** `path` is the variable name; a notifier named here is left out, the others still send. */
	readonly errors: readonly ConfigError[];
}

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

/**
 * An endpoint URL. https everywhere; plain http only for loopback, so tests and a local
 * receiver work while a deployment can never post secrets or alerts in clear text.
 * Messages never echo the value: these URLs are secrets (the token is in the path).
 */
function checkEndpoint(s: string, ctx: z.RefinementCtx, base: boolean): void {
	let url: URL;
	try {
		url = new URL(s);
	} catch {
		ctx.addIssue({ code: "custom", message: "expected an https URL; the value is not a URL" });
		return;
	}
	const loopback = LOOPBACK_HOSTS.has(url.hostname);
	if (url.protocol !== "https:" && !(url.protocol === "http:" && loopback)) {
		ctx.addIssue({
			code: "custom",
			message: "expected an https URL (plain http is allowed only for 127.0.0.1 or localhost)",
		});
	}
	if (url.username !== "" || url.password !== "") {
		ctx.addIssue({
			code: "custom",
			message: "expected no user:password in the URL; use the matching _TOKEN variable instead",
		});
	}
	if (url.hash !== "") {
		ctx.addIssue({ code: "custom", message: "expected no #fragment in the URL" });
	}
	if (base && url.search !== "") {
		ctx.addIssue({
			code: "custom",
			message: "expected a base URL without a query, e.g. https://api.telegram.org",
		});
	}
}

/**
 * An endpoint URL. https everywhere; plain http only for loopback, so tests and a local
 * receiver work while a deployment can never post secrets or alerts in clear text.
 * Messages never echo the value: these URLs are secrets (the token is in the path).
 */
const endpointUrl = z.string().superRefine((s, ctx) => checkEndpoint(s, ctx, false));

const telegramApiBase = z
	.string()
	.superRefine((s, ctx) => checkEndpoint(s, ctx, true))
	.transform((s) => s.replace(/\/+$/, ""));

/** BotFather tokens look like `123456789:AA...`; checked because the token becomes part of a URL path. */
const telegramToken = z
	.string()
	.regex(
		/^\d{1,20}:[A-Za-z0-9_-]{20,100}$/,
		"expected a bot token from @BotFather, like 123456789:AAE... (digits, a colon, then letters, digits, _ or -)",
	);

const telegramChatId = z
	.union([z.string(), z.number().int()])
	.transform(String)
	.pipe(
		z
			.string()
			.regex(
				/^(-?\d{1,20}|@[A-Za-z][A-Za-z0-9_]{3,31})$/,
				"expected a numeric chat id (e.g. -1001234567890) or a public @channelname",
			),
	);

/** Printable ASCII without spaces: it goes into an Authorization header verbatim. */
const ntfyToken = z
	.string()
	.regex(/^[\x21-\x7e]{1,512}$/, "expected an ntfy access token (tk_...) with no spaces");

/** At least 16 characters so the HMAC key is not guessable; `openssl rand -hex 32` is a good value. */
const webhookSecret = z
	.string()
	.min(16, "expected at least 16 characters (generate one with `openssl rand -hex 32`)")
	.max(512, "expected at most 512 characters");

type Raw = Partial<Record<NotifyVar, unknown>>;

/** Empty or whitespace-only values count as unset (a blank line in .dev.vars, a cleared secret). */
function present(env: NotifyEnv): Raw {
	const out: Raw = {};
	for (const k of NOTIFY_VARS) {
		const v = env[k];
		if (v === undefined || v === null) continue;
		if (typeof v === "string") {
			if (v.trim() !== "") out[k] = v.trim();
		} else out[k] = v;
	}
	return out;
}

function check<T>(
	schema: z.ZodType<T>,
	name: NotifyVar,
	value: unknown,
	errors: ConfigError[],
): T | undefined {
	if (typeof value !== "string" && name !== "NOTIFY_TELEGRAM_CHAT_ID") {
		errors.push({ path: name, message: `expected a string, got ${typeof value}` });
		return undefined;
	}
	const r = schema.safeParse(value);
	if (r.success) return r.data;
	for (const issue of r.error.issues) errors.push({ path: name, message: issue.message });
	return undefined;
}

/** A companion variable that must be set because `because` is. */
function need(
	raw: Raw,
	name: NotifyVar,
	because: NotifyVar,
	why: string,
	errors: ConfigError[],
): unknown {
	const v = raw[name];
	if (v === undefined) {
		errors.push({ path: name, message: `expected a value because ${because} is set: ${why}` });
	}
	return v;
}

/**
 * Reads every NOTIFY_* variable. All are optional and any combination works; each notifier is
 * validated on its own, so one typo is reported (by variable name) and only that notifier is off.
 */
export function parseNotifyConfig(env: NotifyEnv): NotifyConfig {
	const raw = present(env);
	const errors: ConfigError[] = [];
	const notifiers: Notifier[] = [];
	/** Runs one notifier's checks; it is added only if they raised no error. */
	const add = (build: () => Notifier | undefined): void => {
		const before = errors.length;
		const n = build();
		if (n !== undefined && errors.length === before) notifiers.push(n);
	};

	if (raw.NOTIFY_DISCORD_URL !== undefined) {
		add(() => {
			const url = check(endpointUrl, "NOTIFY_DISCORD_URL", raw.NOTIFY_DISCORD_URL, errors);
			return url === undefined ? undefined : { kind: "discord", url };
		});
	}

	if (raw.NOTIFY_SLACK_URL !== undefined) {
		add(() => {
			const url = check(endpointUrl, "NOTIFY_SLACK_URL", raw.NOTIFY_SLACK_URL, errors);
			return url === undefined ? undefined : { kind: "slack", url };
		});
	}

	const anyTelegram =
		raw.NOTIFY_TELEGRAM_BOT_TOKEN ?? raw.NOTIFY_TELEGRAM_CHAT_ID ?? raw.NOTIFY_TELEGRAM_API_BASE;
	if (anyTelegram !== undefined) {
		add(() => {
			const by: NotifyVar =
				raw.NOTIFY_TELEGRAM_BOT_TOKEN !== undefined
					? "NOTIFY_TELEGRAM_BOT_TOKEN"
					: raw.NOTIFY_TELEGRAM_CHAT_ID !== undefined
						? "NOTIFY_TELEGRAM_CHAT_ID"
						: "NOTIFY_TELEGRAM_API_BASE";
			const tokenRaw = need(
				raw,
				"NOTIFY_TELEGRAM_BOT_TOKEN",
				by,
				"the bot sends the messages",
				errors,
			);
			const chatRaw = need(
				raw,
				"NOTIFY_TELEGRAM_CHAT_ID",
				by,
				"the bot needs a chat to send to",
				errors,
			);
			const token =
				tokenRaw === undefined
					? undefined
					: check(telegramToken, "NOTIFY_TELEGRAM_BOT_TOKEN", tokenRaw, errors);
			const chatId =
				chatRaw === undefined
					? undefined
					: check(telegramChatId, "NOTIFY_TELEGRAM_CHAT_ID", chatRaw, errors);
			const apiBase =
				raw.NOTIFY_TELEGRAM_API_BASE === undefined
					? TELEGRAM_API_BASE
					: check(
							telegramApiBase,
							"NOTIFY_TELEGRAM_API_BASE",
							raw.NOTIFY_TELEGRAM_API_BASE,
							errors,
						);
			if (token === undefined || chatId === undefined || apiBase === undefined) return undefined;
			return { kind: "telegram", token, chatId, apiBase };
		});
	}

	if (raw.NOTIFY_NTFY_URL !== undefined || raw.NOTIFY_NTFY_TOKEN !== undefined) {
		add(() => {
			const urlRaw = need(
				raw,
				"NOTIFY_NTFY_URL",
				"NOTIFY_NTFY_TOKEN",
				"the token authenticates to that topic",
				errors,
			);
			const url =
				urlRaw === undefined ? undefined : check(endpointUrl, "NOTIFY_NTFY_URL", urlRaw, errors);
			const token =
				raw.NOTIFY_NTFY_TOKEN === undefined
					? undefined
					: check(ntfyToken, "NOTIFY_NTFY_TOKEN", raw.NOTIFY_NTFY_TOKEN, errors);
			if (url === undefined) return undefined;
			return token === undefined ? { kind: "ntfy", url } : { kind: "ntfy", url, token };
		});
	}

	if (raw.NOTIFY_WEBHOOK_URL !== undefined || raw.NOTIFY_WEBHOOK_SECRET !== undefined) {
		add(() => {
			const urlRaw = need(
				raw,
				"NOTIFY_WEBHOOK_URL",
				"NOTIFY_WEBHOOK_SECRET",
				"the secret signs posts to that URL",
				errors,
			);
			const secretRaw = need(
				raw,
				"NOTIFY_WEBHOOK_SECRET",
				"NOTIFY_WEBHOOK_URL",
				"every webhook is signed so the receiver can verify it",
				errors,
			);
			const url =
				urlRaw === undefined ? undefined : check(endpointUrl, "NOTIFY_WEBHOOK_URL", urlRaw, errors);
			const secret =
				secretRaw === undefined
					? undefined
					: check(webhookSecret, "NOTIFY_WEBHOOK_SECRET", secretRaw, errors);
			if (url === undefined || secret === undefined) return undefined;
			return { kind: "webhook", url, secret };
		});
	}

	return Object.freeze({
		notifiers: Object.freeze(notifiers.map((n) => Object.freeze(n))),
		errors: Object.freeze(errors.map((e) => Object.freeze(e))),
	});
}

/** `NOTIFY_DISCORD_URL: expected an https URL ...`: the form logged and shown in status. */
export function describeConfigError(e: ConfigError): string {
	return `${e.path}: ${e.message}`;
}
