// The agent's Node.js check: which versions pass, what the refusal says, and that every place states the same minimum.
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { MIN_NODE_VERSION, nodeVersionProblem } from "../../agent/src/node-version";

const root = resolve(import.meta.dirname, "../..");
const read = (path: string) => readFile(resolve(root, path), "utf8");

describe("nodeVersionProblem", () => {
	it.each([
		["22.12.0"],
		["v22.12.0"],
		["22.12.1"],
		["22.13.0"],
		["24.0.0"],
		["26.10.0"],
		["100.0.0"],
		["22.12.0-pre"],
	])("accepts %s", (version) => {
		expect(nodeVersionProblem(version)).toBeNull();
	});

	it.each([
		["22.11.9"],
		["22.1.0"],
		["22.0.0"],
		["20.20.2"],
		["v18.19.1"],
		["16.0.0"],
		["12.22.12"],
		["garbage"],
		[""],
	])("refuses %s, naming both versions and how to get Node", (version) => {
		const problem = nodeVersionProblem(version);
		expect(problem).toContain(`needs Node.js >= ${MIN_NODE_VERSION}`);
		expect(problem).toContain(`this is ${version}`);
		expect(problem).toContain("https://nodejs.org/en/download");
		expect(problem).toContain("apt-get install -y nodejs");
	});
});

describe("one Node.js statement everywhere", () => {
	it("package.json engines, the unit, README and docs/agent.md name the same minimum", async () => {
		const pkg = JSON.parse(await read("package.json")) as { engines: { node: string } };
		expect(pkg.engines.node).toBe(`>=${MIN_NODE_VERSION}`);
		expect(await read("agent/systemd/failover-agent.service")).toContain(
			`Node.js >= ${MIN_NODE_VERSION}`,
		);
		expect(await read("README.md")).toContain(`Node.js >= ${MIN_NODE_VERSION}`);
		expect(await read("docs/agent.md")).toContain(`Node.js >= ${MIN_NODE_VERSION}`);
		// .nvmrc pins the development Node, which must itself satisfy the minimum.
		expect(nodeVersionProblem(`${(await read(".nvmrc")).trim()}.0.0`)).toBeNull();
	});
});
