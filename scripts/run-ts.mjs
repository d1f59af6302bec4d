#!/usr/bin/env node
// Runs a TypeScript entry (demo, bench) by bundling it with esbuild into a temp file: no extra runtime dependency.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";

const [entry, ...args] = process.argv.slice(2);
if (!entry) {
	console.error("usage: node scripts/run-ts.mjs <file.ts> [args...]");
	process.exit(2);
}
// Inside the project (not the caller's folder), so the bundle's bare imports resolve from node_modules.
const cacheDir = join(fileURLToPath(new URL("../", import.meta.url)), "node_modules", ".cache");
mkdirSync(cacheDir, { recursive: true });
const dir = mkdtempSync(join(cacheDir, "fg-run-"));
const out = join(dir, "main.mjs");
await build({
	entryPoints: [resolve(entry)],
	outfile: out,
	bundle: true,
	platform: "node",
	format: "esm",
	target: "node22",
	packages: "external",
	sourcemap: "inline",
	logLevel: "error",
});
process.argv = [process.argv[0], resolve(entry), ...args];
process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
process.setSourceMapsEnabled(true);
await import(pathToFileURL(out).href);
