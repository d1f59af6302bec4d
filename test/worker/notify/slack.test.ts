import { describe, expect, it } from "vitest";
import { buildMessage } from "../../../worker/src/notify/message";
import { SLACK_LIMITS, slackPayload } from "../../../worker/src/notify/slack";
import { event, HOSTILE } from "./fixtures";

interface TextObj {
	type: string;
	text: string;
}
interface Block {
	type: string;
	text?: TextObj;
	fields?: TextObj[];
	elements?: TextObj[];
}

function texts(blocks: unknown[]): TextObj[] {
	return (blocks as Block[]).flatMap((b) => [
		...(b.text ? [b.text] : []),
		...(b.fields ?? []),
		...(b.elements ?? []),
	]);
}

describe("slack", () => {
	it("says what happened, when, the evidence and the next step", () => {
		const p = slackPayload(
			buildMessage("home", event(), { dashboardUrl: "https://status.example.test/p?a=1&b=2|x" }),
		);
		const all = texts(p.blocks)
			.map((t) => t.text)
			.join("\n");
		expect((p.blocks[0] as Block).text?.text).toBe("home: Failover started: promoting the standby");
		expect(all).toContain("Primary not ready for 3 probes and the standby agrees.");
		expect(all).toContain("When: 2026-05-17T12:30:00.000Z");
		expect(all).toContain("State: primary-active -&gt; promoting (term 4)");
		expect(all).toContain("• worker probe: GET /readyz timed out after 2500 ms (3 in a row)");
		expect(all).toContain("• standby agent: primary probe failed 4 times: connect-error");
		expect(all).toContain("What to do next: Check the primary VPS");
		// The one mrkdwn element: a link whose URL cannot break out of <url|label>.
		expect(all).toContain("<https://status.example.test/p?a=1&amp;b=2%7Cx|Open the status page>");
		expect(p.text).toContain("CRITICAL home: Failover started");
	});

	it("renders untrusted text only as plain_text, with Slack's control characters escaped", () => {
		const m = buildMessage(
			HOSTILE,
			event({ summary: HOSTILE, next: HOSTILE, evidence: [{ witness: "standby", saw: HOSTILE }] }),
		);
		const p = slackPayload(m);
		const objs = texts(p.blocks);
		expect(objs.filter((t) => t.type !== "plain_text")).toEqual([]);
		for (const t of [...objs.map((o) => o.text), p.text]) {
			expect(t).not.toMatch(/[<>]/);
			expect(t.replace(/&(amp|lt|gt);/g, "")).not.toContain("&");
		}
		expect(p.text).toContain("&lt;!channel&gt;");
	});

	it("keeps Block Kit limits with oversized input", () => {
		const huge = "<&>".repeat(5_000);
		const p = slackPayload(
			buildMessage(
				"home",
				event({
					summary: huge,
					next: huge,
					evidence: Array.from({ length: 30 }, () => ({ witness: "worker" as const, saw: huge })),
				}),
			),
		);
		const blocks = p.blocks as Block[];
		expect(blocks[0]?.text?.text.length).toBeLessThanOrEqual(SLACK_LIMITS.header);
		for (const b of blocks) {
			if (b.text) expect(b.text.text.length).toBeLessThanOrEqual(SLACK_LIMITS.section);
			for (const f of b.fields ?? []) expect(f.text.length).toBeLessThanOrEqual(SLACK_LIMITS.field);
		}
		expect(p.text.length).toBeLessThanOrEqual(SLACK_LIMITS.text);
		const evidence = blocks.find((b) => b.text?.text.startsWith("Evidence"))?.text?.text ?? "";
		expect(evidence).toMatch(/• \d+ more; see the status page$/);
		// No entity was cut in half by truncation.
		expect(evidence.replace(/&(amp|lt|gt);/g, "")).not.toContain("&");
	});
});
