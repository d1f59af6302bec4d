#!/usr/bin/env node
// Launcher for scripts/measure-agent.ts: bundles it with esbuild (it imports protocol/ in TypeScript) and runs it.
import { mkdir } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const outfile = resolve(root, "dist/measure-agent.mjs");
await mkdir(dirname(outfile), { recursive: true });
await build({
	entryPoints: [resolve(root, "scripts/measure-agent.ts")],
	bundle: true,
	platform: "node",
	format: "esm",
	target: "node22",
	outfile,
	define: { "import.meta.dirname": JSON.stringify(resolve(root, "scripts")) },
	logLevel: "warning",
});
await import(pathToFileURL(outfile).href);
