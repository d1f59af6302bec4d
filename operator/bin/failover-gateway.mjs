#!/usr/bin/env node
// failover-gateway in a checkout: runs operator/src/main.ts through the project's TS runner (scripts/run-ts.mjs).
import { fileURLToPath } from "node:url";

const major = Number(process.versions.node.split(".")[0]);
if (major < 22) {
	process.stderr.write(
		`failover-gateway needs Node.js >= 22 (this is ${process.version}). In this checkout, run it through npx, which uses the pinned Node.\n`,
	);
	process.exit(1);
}
const root = new URL("../../", import.meta.url);
const runner = new URL("scripts/run-ts.mjs", root);
const entry = new URL("operator/src/main.ts", root);
// run-ts.mjs reads its entry and arguments from argv, as when run as a script.
process.argv = [
	process.argv[0],
	fileURLToPath(runner),
	fileURLToPath(entry),
	...process.argv.slice(2),
];
await import(runner.href);
