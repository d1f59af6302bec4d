#!/usr/bin/env node
// Bundles the agent (CLI and server) into one file, dist/agent.mjs, so a VPS needs only Node >= 22.
import { chmod, mkdir, rename, rm } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { build } from "esbuild";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const DEFAULT_OUTFILE = resolve(root, "dist/agent.mjs");

// Bundled CommonJS code may call require() for Node builtins; an ES module has no require of its own.
const banner = [
	"#!/usr/bin/env node",
	"// failover-agent, bundled by scripts/build-agent.mjs. Source: agent/src and protocol/.",
	'import { createRequire as __fgCreateRequire } from "node:module";',
	"const require = __fgCreateRequire(import.meta.url);",
].join("\n");

/** Builds to a temp file and renames it, so a concurrent run never executes a half-written bundle. */
export async function buildAgent({ outfile = DEFAULT_OUTFILE, quiet = false } = {}) {
	const target = resolve(outfile);
	await mkdir(dirname(target), { recursive: true });
	const temp = `${target}.${process.pid}.${Date.now()}.tmp`;
	try {
		await build({
			entryPoints: [resolve(root, "agent/src/main.ts")],
			bundle: true,
			platform: "node",
			format: "esm",
			target: "node22",
			outfile: temp,
			banner: { js: banner },
			legalComments: "none",
			// Not minified: readable stack traces in journald are worth more than a few hundred KB.
			minify: false,
			logLevel: quiet ? "error" : "warning",
		});
		await chmod(temp, 0o755);
		await rename(temp, target);
	} finally {
		await rm(temp, { force: true });
	}
	return target;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
	const { values } = parseArgs({ options: { outfile: { type: "string" } }, strict: true });
	const out = await buildAgent({ outfile: values.outfile });
	process.stdout.write(`built ${out}\n`);
}
