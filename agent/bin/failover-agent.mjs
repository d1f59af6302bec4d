#!/usr/bin/env node
// failover-agent in a checkout: runs dist/agent.mjs, building it first when missing or older than the source.
import { existsSync, readdirSync, statSync } from "node:fs";

// The bundle checks the Node version itself (agent/src/require-node.ts) before anything else runs.

const root = new URL("../../", import.meta.url);
const dist = new URL("dist/agent.mjs", root);
const sources = ["agent/src", "protocol"].map((dir) => new URL(`${dir}/`, root));

function newest(url) {
	let latest = 0;
	for (const entry of readdirSync(url, { withFileTypes: true })) {
		const child = new URL(entry.name + (entry.isDirectory() ? "/" : ""), url);
		latest = Math.max(latest, entry.isDirectory() ? newest(child) : statSync(child).mtimeMs);
	}
	return latest;
}

const haveSource = sources.every((url) => existsSync(url));
const stale =
	haveSource && (!existsSync(dist) || Math.max(...sources.map(newest)) > statSync(dist).mtimeMs);
if (stale) {
	try {
		const { buildAgent } = await import(new URL("scripts/build-agent.mjs", root).href);
		await buildAgent({ quiet: true });
	} catch (error) {
		if (!existsSync(dist)) {
			process.stderr.write(
				`failover-agent: dist/agent.mjs is missing and could not be built (${error.message}).\nRun "npm ci" and then "npm run build:agent".\n`,
			);
			process.exit(1);
		}
		process.stderr.write(
			`failover-agent: warning: could not rebuild dist/agent.mjs (${error.message}); running the existing build\n`,
		);
	}
}
await import(dist.href);
