// docs/deployment.md's numbered steps are the ones `failover-gateway init` prints (for the docs' example answers).
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { docsStepsBlock } from "../../operator/src/init/docs-example";

const DOC = new URL("../../docs/deployment.md", import.meta.url);
const BEGIN = "<!-- init-steps:begin (generated: test/operator/docs-steps.test.ts) -->";
const END = "<!-- init-steps:end -->";

describe("docs/deployment.md", () => {
	it("shows exactly the steps init prints", async () => {
		const doc = readFileSync(DOC, "utf8");
		const start = doc.indexOf(BEGIN);
		const end = doc.indexOf(END);
		expect(start, `docs/deployment.md lacks ${BEGIN}`).toBeGreaterThan(-1);
		const block = doc.slice(start + BEGIN.length, end).trim();
		const expected = `\`\`\`text\n${await docsStepsBlock()}\n\`\`\``;
		// On a mismatch, paste the expected block between the markers.
		expect(block).toBe(expected);
	});
});
