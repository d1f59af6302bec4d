#!/usr/bin/env node
// Bundles the agent (CLI and server) into one file, dist/agent.mjs, plus its SHA-256 beside it, so a VPS needs only Node.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmod, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { builtinModules } from "node:module";
import { basename, dirname, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { build } from "esbuild";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const DEFAULT_OUTFILE = resolve(root, "dist/agent.mjs");

// The bundle's require() serves Node builtins only (builtinsViaRequire; nothing else is left to
// require at run time). process.getBuiltinModule (Node >= 22.3) rather than createRequire: an ES
// import of node:module runs its lazy getters, about 0.6 MiB of RSS (docs/agent.md, "Measured").
// It throws for any other name, so a require of a package that slipped into the bundle fails loudly.
const banner = [
	"#!/usr/bin/env node",
	"// failover-agent, bundled by scripts/build-agent.mjs. Source: agent/src and protocol/.",
	"const require = (id) => {",
	"\tconst builtin = process.getBuiltinModule?.(id);",
	"\tif (builtin === undefined) throw new Error(`failover-agent bundle: cannot require ${id}`);",
	"\treturn builtin;",
	"};",
].join("\n");

const BUILTINS = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));

/**
 * Turns every `import ... from "node:x"` into `require("node:x")` (through the banner's require).
 * Why: an ES import of a builtin enumerates all its exports to build the module's named bindings,
 * which runs Node's lazy getters; for node:http that loads undici, http2, tls, zlib and more,
 * about 15 MiB of RSS the agent never uses (measured on Node 26: docs/benchmarks.md).
 */
const builtinsViaRequire = {
	name: "builtins-via-require",
	setup(b) {
		b.onResolve({ filter: /^[a-z_:/0-9]+$/ }, (args) => {
			if (!BUILTINS.has(args.path)) return undefined;
			if (args.namespace === "builtin-require") return { path: args.path, external: true };
			return { path: args.path, namespace: "builtin-require" };
		});
		b.onLoad({ filter: /.*/, namespace: "builtin-require" }, (args) => ({
			contents: `module.exports = require(${JSON.stringify(args.path)});`,
			loader: "js",
		}));
	},
};

/**
 * Fails the build when agent or protocol code imports classic zod (`zod`, `zod/v4`, `zod/v3`) or
 * zod's locale index. Classic attaches every method to every schema instance and re-exports all 60-odd
 * locales: 2.8 to 3.8 MiB of the agent's idle RSS (docs/agent.md, "Measured"). The agent's schemas use
 * zod/mini with English messages only, through protocol/zod.ts, which tree-shakes to the parts used.
 */
const zodMiniOnly = {
	name: "zod-mini-only",
	setup(b) {
		b.onResolve({ filter: /^zod(\/v3|\/v4|\/locales|\/v4\/locales)?$/ }, (args) => ({
			errors: [
				{
					text: `${args.importer} imports "${args.path}": the agent bundle takes zod/mini only, through protocol/zod.ts (classic zod costs the agent 3 to 4 MiB of idle RSS)`,
				},
			],
		}));
	},
};

/**
 * ws requires node:zlib when it loads, for permessage-deflate alone, which the agent turns off
 * (agent/src/ws-client.ts). On Node 26 node:zlib also loads its zip modules. So ws gets a zlib
 * that loads node:zlib at its first use, which never comes (measured: docs/agent.md, "Measured").
 */
const wsLazyZlib = {
	name: "ws-lazy-zlib",
	setup(b) {
		b.onResolve({ filter: /^zlib$/ }, (args) => {
			if (!/[\\/]node_modules[\\/]ws[\\/]/.test(args.importer)) return undefined;
			return { path: "zlib", namespace: "ws-lazy-zlib" };
		});
		b.onLoad({ filter: /.*/, namespace: "ws-lazy-zlib" }, () => ({
			contents: [
				"let zlib;",
				'module.exports = new Proxy({}, { get: (_, name) => (zlib ??= require("node:zlib"))[name] });',
			].join("\n"),
			loader: "js",
		}));
	},
};

/**
 * Escapes every non-ASCII character left in the bundle as \uXXXX (per UTF-16 code unit).
 * Why: V8 keeps a script's source in memory, as one byte per character only when every character
 * is Latin-1; a single em dash in a bundled comment made the whole ~700 KB source two bytes per
 * character (+0.7 MiB of heap, measured with a heap snapshot: docs/agent.md, "Measured").
 * esbuild's default ASCII charset already escapes strings, templates, regexes and identifiers, so
 * what is left is in comments; a \uXXXX escape means the same character in any of those anyway.
 */
export function asciiOnly(text) {
	return text.replace(
		/[^\x00-\x7f]/g,
		(c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
	);
}

/**
 * Builds to a temp file and renames it, so a concurrent run never executes a half-written bundle;
 * then writes `<outfile>.sha256` in sha256sum's format ("<hex>  agent.mjs"), so on the VPS
 * `sha256sum -c agent.mjs.sha256` verifies a copy. Returns { path, sha256 }.
 */
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
			// The default, relied on by asciiOnly: non-ASCII in code is escaped by esbuild itself.
			charset: "ascii",
			plugins: [wsLazyZlib, builtinsViaRequire, zodMiniOnly],
			// Not minified: readable stack traces in journald are worth more than a few hundred KB.
			minify: false,
			logLevel: quiet ? "error" : "warning",
		});
		await writeFile(temp, asciiOnly(await readFile(temp, "utf8")));
		await chmod(temp, 0o755);
		await rename(temp, target);
	} finally {
		await rm(temp, { force: true });
	}
	const sha256 = createHash("sha256")
		.update(await readFile(target))
		.digest("hex");
	await writeFile(`${target}.sha256`, `${sha256}  ${basename(target)}\n`);
	return { path: target, sha256 };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
	const { values } = parseArgs({ options: { outfile: { type: "string" } }, strict: true });
	const { path, sha256 } = await buildAgent({ outfile: values.outfile });
	// The version from the bundle itself: proves it runs, and is the line `--version` prints on the VPS.
	const ran = spawnSync(process.execPath, [path, "--version"], { encoding: "utf8" });
	if (ran.status !== 0) {
		process.stderr.write(`built ${path}, but it does not run: ${ran.stderr}\n`);
		process.exit(1);
	}
	process.stdout.write(
		`built ${path}\nversion ${ran.stdout.trim()}\nsha256 ${sha256}  (also in ${path}.sha256)\n`,
	);
}
