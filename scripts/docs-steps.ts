// Rewrites the numbered steps in docs/deployment.md from what `failover-gateway init` prints (npm run docs:steps).
import { readFileSync, writeFileSync } from "node:fs";
import { docsStepsBlock } from "../operator/src/init/docs-example";

const DOC = "docs/deployment.md";
const BEGIN = "<!-- init-steps:begin (generated: test/operator/docs-steps.test.ts) -->";
const END = "<!-- init-steps:end -->";

const doc = readFileSync(DOC, "utf8");
const start = doc.indexOf(BEGIN);
const end = doc.indexOf(END);
if (start < 0 || end < start) {
	console.error(`${DOC}: the markers ${BEGIN} ... ${END} are missing`);
	process.exit(1);
}
const block = `\`\`\`text\n${await docsStepsBlock()}\n\`\`\``;
writeFileSync(DOC, `${doc.slice(0, start + BEGIN.length)}\n\n${block}\n\n${doc.slice(end)}`);
console.log(`${DOC}: steps rewritten from init's output`);
