import { describe, expect, it } from "vitest";
import {
	DISCORD_LIMITS,
	discordEmbedLength,
	discordPayload,
	discordRequest,
} from "../../../worker/src/notify/discord";
import { buildMessage } from "../../../worker/src/notify/message";
import { event, HOSTILE } from "./fixtures";

/** Removes every backslash escape; what is left must contain no markdown-active character. */
function unescaped(s: string): string {
	return s.replace(/\\[\s\S]/g, "");
}
const ACTIVE = /[*_~`|<>[\]()@#:]/;

describe("discord", () => {
	it("says what happened, when, the evidence and the next step", () => {
		const p = discordPayload(
			buildMessage("home", event(), { dashboardUrl: "https://status.example.test/" }),
		);
		const [embed] = p.embeds;
		expect(embed.title).toContain("home\\: Failover started\\: promoting the standby");
		expect(embed.description).toContain("Primary not ready for 3 probes");
		expect(embed.timestamp).toBe("2026-05-17T12:30:00.000Z");
		expect(embed.url).toBe("https://status.example.test/");
		expect(embed.color).toBe(0xe74c3c);
		const fields = Object.fromEntries(embed.fields.map((f) => [f.name, f.value]));
		expect(fields["worker probe"]).toContain("timed out after 2500 ms");
		expect(fields["standby agent"]).toContain("connect\\-error");
		expect(fields["What to do next"]).toContain("Check the primary VPS");
		expect(fields.When).toContain("2026\\-05\\-17T12\\:30\\:00\\.000Z");
		expect(fields.State).toContain("primary\\-active \\-\\> promoting \\(term 4\\)");
		expect(p.content).toContain("CRITICAL home");
	});

	it("escapes markdown and disables mentions for hostile pair names and probe details", () => {
		const m = buildMessage(
			HOSTILE,
			event({ summary: HOSTILE, next: HOSTILE, evidence: [{ witness: "worker", saw: HOSTILE }] }),
		);
		const p = discordPayload(m);
		expect(p.allowed_mentions).toEqual({ parse: [] });
		const [embed] = p.embeds;
		const texts = [
			p.content,
			embed.title,
			embed.description ?? "",
			...embed.fields.map((f) => f.value),
		];
		for (const t of texts) expect(unescaped(t)).not.toMatch(ACTIVE);
		expect(embed.description).toContain("\\*bold\\*");
		expect(embed.description).toContain("\\@everyone");
	});

	it("keeps every Discord limit with oversized input, and says evidence was left out", () => {
		const huge = "*".repeat(10_000);
		const m = buildMessage(
			"home",
			event({
				summary: huge,
				next: huge,
				evidence: Array.from({ length: 40 }, () => ({ witness: "standby" as const, saw: huge })),
			}),
		);
		const p = discordPayload(m);
		const [embed] = p.embeds;
		expect(p.content.length).toBeLessThanOrEqual(DISCORD_LIMITS.content);
		expect(embed.title.length).toBeLessThanOrEqual(DISCORD_LIMITS.title);
		expect((embed.description ?? "").length).toBeLessThanOrEqual(DISCORD_LIMITS.description);
		expect(embed.fields.length).toBeLessThanOrEqual(DISCORD_LIMITS.fields);
		for (const f of embed.fields) {
			expect(f.name.length).toBeLessThanOrEqual(DISCORD_LIMITS.fieldName);
			expect(f.value.length).toBeLessThanOrEqual(DISCORD_LIMITS.fieldValue);
			expect(f.value.length).toBeGreaterThan(0);
			// Cut before escaping: the value never ends in a dangling backslash.
			expect(f.value).not.toMatch(/(^|[^\\])(\\\\)*\\…?$/);
		}
		expect(discordEmbedLength(p)).toBeLessThanOrEqual(DISCORD_LIMITS.total);
		expect(embed.description?.endsWith("…")).toBe(true);
		expect(embed.fields.find((f) => f.name === "More evidence")?.value).toBe(
			"30 more; see the status page",
		);
		expect(embed.fields.some((f) => f.name === "What to do next")).toBe(true);
	});

	it("never splits a surrogate pair when truncating", () => {
		const m = buildMessage("home", event({ summary: "🚨".repeat(5_000) }));
		const d = discordPayload(m).embeds[0].description ?? "";
		expect(d.length).toBeLessThanOrEqual(1200);
		expect(d).toMatch(/^(🚨)+…$/u);
	});

	it("gives a next step even when decide() left it empty, and drops a non-http dashboard URL", () => {
		const p = discordPayload(
			buildMessage("home", event({ next: "" }), { dashboardUrl: "javascript:alert(1)" }),
		);
		expect(p.embeds[0].url).toBeUndefined();
		expect(p.embeds[0].fields.find((f) => f.name === "What to do next")?.value).toContain(
			"Nothing to do",
		);
	});

	it("posts JSON to the webhook URL", () => {
		const r = discordRequest(
			buildMessage("home", event()),
			"https://hooks.example.test/api/webhooks/1/x",
		);
		expect(r.url).toBe("https://hooks.example.test/api/webhooks/1/x");
		expect(r.headers["content-type"]).toBe("application/json");
		expect(JSON.parse(r.body).embeds).toHaveLength(1);
	});
});
