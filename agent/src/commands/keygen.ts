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
	const written = await writePrivateKeyFile(out, pair.privateKeyText, values.force ?? false);
	if (!written.ok) {
		io.err(`failover-agent: ${written.message}\n`);
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

export type KeyFileResult = { ok: true } | { ok: false; exists: boolean; message: string };

/**
 * Writes private key text to `file` with mode 0600 (also `failover-gateway init`'s key writer). Without
 * `force` an existing file is never overwritten (`exists: true`); with it, the file is made 0600 before the
 * key is written into it, never after.
 */
export async function writePrivateKeyFile(
	file: string,
	privateKeyText: string,
	force: boolean,
): Promise<KeyFileResult> {
	try {
		// "wx" fails if the file exists: never overwrite a key by accident.
		const handle = await open(file, force ? "w" : "wx", 0o600);
		try {
			// open()'s mode only applies to a new file.
			await handle.chmod(0o600);
			await handle.writeFile(`${privateKeyText}\n`);
			await handle.sync();
		} finally {
			await handle.close();
		}
		return { ok: true };
	} catch (error) {
		if ((error as NodeJS.ErrnoException).code === "EEXIST") {
			return {
				ok: false,
				exists: true,
				message:
					`${file} already exists; not overwriting it.\n` +
					"Use --force to replace it (every agent and the Worker must then get the new key), or --out to pick another file.",
			};
		}
		return {
			ok: false,
			exists: false,
			message: `cannot write ${file}: ${(error as Error).message}`,
		};
	}
}
