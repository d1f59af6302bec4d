// `failover-agent keygen`: creates the watchdog's Ed25519 signing key (file mode 0600) and prints the public key.
import { open } from "node:fs/promises";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { generateKeyPair } from "../../../protocol";
import { type CliIo, EXIT_FAILED, EXIT_OK, usageError } from "./io";

export const KEYGEN_HELP = `Usage: failover-agent keygen [--out FILE] [--force]

Creates the watchdog's Ed25519 signing key. The private key goes to FILE
(default: watchdog.key, mode 0600) and to the Worker as a secret; the public
key goes into every agent's config. Refuses to overwrite FILE without --force.

Options:
  --out FILE   where to write the private key (default: watchdog.key)
  --force      replace FILE if it exists (the old key stops working everywhere)
  --help       show this help`;

export async function keygenCommand(args: string[], io: CliIo): Promise<number> {
	let values: { out?: string; force?: boolean; help?: boolean };
	try {
		({ values } = parseArgs({
			args,
			options: {
				out: { type: "string" },
				force: { type: "boolean" },
				help: { type: "boolean", short: "h" },
			},
			strict: true,
			allowPositionals: false,
		}));
	} catch (error) {
		return usageError(io, (error as Error).message, KEYGEN_HELP);
	}
	if (values.help) {
		io.out(`${KEYGEN_HELP}\n`);
		return EXIT_OK;
	}
	const out = values.out ?? "watchdog.key";
	if (out === "") return usageError(io, "--out needs a file name", KEYGEN_HELP);

	const pair = await generateKeyPair();
	try {
		// "wx" fails if the file exists: never overwrite a key by accident.
		const handle = await open(out, values.force ? "w" : "wx", 0o600);
		try {
			// open()'s mode only applies to a new file: a forced overwrite of a readable file is made
			// 0600 before the key is written into it, never after.
			await handle.chmod(0o600);
			await handle.writeFile(`${pair.privateKeyText}\n`);
			await handle.sync();
		} finally {
			await handle.close();
		}
	} catch (error) {
		const code = (error as NodeJS.ErrnoException).code;
		if (code === "EEXIST") {
			io.err(
				`failover-agent: ${out} already exists; not overwriting it.\n` +
					"Use --force to replace it (every agent and the Worker must then get the new key), or --out to pick another file.\n",
			);
		} else {
			io.err(`failover-agent: cannot write ${out}: ${(error as Error).message}\n`);
		}
		return EXIT_FAILED;
	}

	io.out(
		[
			`Wrote the watchdog's private key to ${resolve(out)} (mode 0600). Keep it secret.`,
			"",
			'Public key: add it to "watchdogPublicKeys" in each agent\'s config:',
			"",
			`  ${pair.publicKeyText}`,
			"",
			`(key id ${pair.keyId})`,
			"",
			"Give the private key to the watchdog Worker as a secret:",
			"",
			`  npx wrangler secret put WATCHDOG_PRIVATE_KEY < ${out}`,
			"",
		].join("\n"),
	);
	return EXIT_OK;
}
