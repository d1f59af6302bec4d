import { describe, expect, it } from "vitest";
import { buildMessage } from "../../../worker/src/notify/message";
import {
	TELEGRAM_TEXT_LIMIT,
	telegramPayload,
	telegramRequest,
	telegramText,
} from "../../../worker/src/notify/telegram";
import { event, HOSTILE } from "./fixtures";

/** Only the tags the formatter itself writes may remain; every & must start a complete entity. */
function assertSafeHtml(html: string): void {
	const noTags = html.replace(/<\/?b>|<a href="[^"<>]*">|<\/a>/g, "");
	expect(noTags).not.toMatch(/[<>]/);
	expect(html.replace(/&(amp|lt|gt|quot);/g, "")).not.toContain("&");
}

describe("telegram", () => {
	it("says what happened, when, the evidence and the next step", () => {
		const text = telegramText(
			buildMessage("home", event(), { dashboardUrl: "https://status.example.test/?a=1&b=2" }),
		);
		expect(text).toContain("<b>home: Failover started: promoting the standby</b>");
		expect(text).toContain("<b>When:</b> 2026-05-17T12:30:00.000Z");
		expect(text).toContain("<b>State:</b> primary-active -&gt; promoting (term 4)");
		expect(text).toContain("• worker probe: GET /readyz timed out after 2500 ms (3 in a row)");
		expect(text).toContain("• standby agent: primary probe failed 4 times: connect-error");
		expect(text).toContain("<b>What to do next:</b> Check the primary VPS");
		expect(text).toContain(
			'<a href="https://status.example.test/?a=1&amp;b=2">Open the status page</a>',
		);
		assertSafeHtml(text);
	});

	it("escapes every value from pair names and probe details", () => {
		const text = telegramText(
			buildMessage(
				HOSTILE,
				event({ summary: HOSTILE, next: HOSTILE, evidence: [{ witness: "worker", saw: HOSTILE }] }),
			),
		);
		assertSafeHtml(text);
		expect(text).toContain("&lt;b&gt;x&lt;/b&gt;");
	});

	it("stays within 4096 characters at worst-case escaping, keeping the next step", () => {
		const amp = "&".repeat(10_000);
		const text = telegramText(
			buildMessage(
				"home",
				event({
					summary: amp,
					next: amp,
					evidence: Array.from({ length: 50 }, () => ({ witness: "standby" as const, saw: amp })),
				}),
				{ dashboardUrl: `https://status.example.test/${"a".repeat(300)}` },
			),
		);
		expect(text.length).toBeLessThanOrEqual(TELEGRAM_TEXT_LIMIT);
		assertSafeHtml(text);
		expect(text).toMatch(/• \d+ more; see the status page/);
		expect(text).toContain("<b>What to do next:</b>");
		expect(text).toContain("Open the status page");
	});

	it("sends silently for info events only, with previews off", () => {
		const info = telegramPayload(
			buildMessage("home", event({ kind: "resumed", severity: "info" })),
			"-100",
		);
		const crit = telegramPayload(buildMessage("home", event()), "-100");
		expect(info.disable_notification).toBe(true);
		expect(crit.disable_notification).toBe(false);
		expect(crit).toMatchObject({
			chat_id: "-100",
			parse_mode: "HTML",
			link_preview_options: { is_disabled: true },
		});
	});

	it("posts to <apiBase>/bot<token>/sendMessage", () => {
		const r = telegramRequest(buildMessage("home", event()), {
			token: "1:tok",
			chatId: "7",
			apiBase: "https://hooks.example.test/tg",
		});
		expect(r.url).toBe("https://hooks.example.test/tg/bot1:tok/sendMessage");
		expect(JSON.parse(r.body).chat_id).toBe("7");
	});
});
