// The single-file bundle a VPS runs: `npm run build:agent` output runs alone, says its version, and its checksum file matches.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cp, readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { PROTOCOL_VERSION } from "../../protocol";
import { tempDir } from "./helpers";

const root = resolve(import.meta.dirname, "../..");

describe("scripts/build-agent.mjs", () => {
	it("builds a bundle whose --version and sha256 file match, and that runs outside the checkout", async () => {
		const dir = await tempDir();
		const out = join(dir, "build", "agent.mjs");
		const built = spawnSync(
			process.execPath,
			[join(root, "scripts/build-agent.mjs"), "--outfile", out],
			{ encoding: "utf8" },
		);
		expect(built.status, built.stderr).toBe(0);
		const pkg = JSON.parse(await readFile(join(root, "package.json"), "utf8")) as {
			version: string;
		};
		const versionLine = `failover-agent ${pkg.version} (protocol ${PROTOCOL_VERSION})`;
		const sha256 = createHash("sha256")
			.update(await readFile(out))
			.digest("hex");
		expect(built.stdout).toContain(`version ${versionLine}`);
		expect(built.stdout).toContain(`sha256 ${sha256}`);
		// sha256sum's own format, so `sha256sum -c agent.mjs.sha256` works on the VPS.
		expect(await readFile(`${out}.sha256`, "utf8")).toBe(`${sha256}  agent.mjs\n`);

		// A copy with no project beside it (no node_modules up the tree) still runs: nothing
		// falls through to a package resolved at run time.
		const vps = join(dir, "vps");
		await cp(out, join(vps, "agent.mjs"));
		const ran = spawnSync(process.execPath, [join(vps, "agent.mjs"), "--version"], {
			encoding: "utf8",
			cwd: vps,
		});
		expect(ran.status, ran.stderr).toBe(0);
		expect(ran.stdout).toBe(`${versionLine}\n`);

		// With the unit's node flags too: a V8 flag that turns off what Node's own code needs
		// (--lite-mode and --jitless drop WebAssembly on Node 22) would stop the agent at start.
		const unit = await readFile(join(root, "agent/systemd/failover-agent.service"), "utf8");
		const words = /^ExecStart=\S+\s+(.*)$/m.exec(unit)?.[1]?.split(/\s+/) ?? [];
		const flags = words.slice(
			0,
			words.findIndex((w) => w.endsWith("agent.mjs")),
		);
		expect(flags).not.toContain("--lite-mode");
		expect(flags).not.toContain("--jitless");
		const flagged = spawnSync(process.execPath, [...flags, join(vps, "agent.mjs"), "--version"], {
			encoding: "utf8",
			cwd: vps,
		});
		expect(flagged.status, flagged.stderr).toBe(0);
		expect(flagged.stderr).toBe("");

		// On an old Node (simulated: process.versions.node rewritten before the bundle loads) it
		// stops first, with the statement and the fix, before reading any config.
		const old = spawnSync(
			process.execPath,
			[
				"--import",
				'data:text/javascript,Object.defineProperty(process, "versions", { value: { ...process.versions, node: "20.9.0" } });',
				join(vps, "agent.mjs"),
				"serve",
				"--config",
				join(vps, "missing.json"),
			],
			{ encoding: "utf8", cwd: vps },
		);
		expect(old.status).toBe(1);
		expect(old.stderr).toMatch(
			/^failover-agent needs Node\.js >= 22\.12\.0, and this is 20\.9\.0: install/,
		);
		expect(old.stderr).not.toContain("missing.json");

		// zod (zod/mini) runs in the bundle with its English messages: protocol/zod.ts configures them,
		// without which a default message reads "Invalid input" alone.
		await writeFile(
			join(vps, "bad.json"),
			'{"role":"standby","logLevel":7,"replication":{"enabled":"yes"}}',
		);
		const checked = spawnSync(
			process.execPath,
			[join(vps, "agent.mjs"), "check-config", "bad.json"],
			{
				encoding: "utf8",
				cwd: vps,
			},
		);
		expect(checked.status).toBe(1);
		expect(checked.stderr + checked.stdout).toMatch(/invalid config[\s\S]*logLevel: /);
		expect(checked.stderr + checked.stdout).toContain(
			"replication.enabled: Invalid input: expected boolean, received string",
		);
	}, 60_000);
});
