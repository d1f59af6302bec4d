// `failover-agent keygen [--agent]`: creates the watchdog's or an agent's Ed25519 key (file mode 0600), prints the public key.
import { open } from "node:fs/promises";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { agentFingerprint, generateKeyPair } from "../../../protocol";
import { type CliIo, EXIT_FAILED, EXIT_OK, usageError } from "./io";

export const KEYGEN_HELP = `Usage: failover-agent keygen [--agent] [--out FILE] [--force]

Creates an Ed25519 key pair and writes the private key to FILE (mode 0600).
Refuses to overwrite FILE without --force.

Without --agent: the watchdog's signing key (default FILE: watchdog.key). The
private key goes to the Worker as a secret; the public key goes into every
agent's "watchdogPublicKeys".

With --agent: this agent's own key (default FILE: agent.key), run once on each
VPS. The agent signs every answer with it; its config names FILE as
"agentKeyFile", and the public key goes into the Worker's pair config as
primary.agentPublicKey or standby.agentPublicKey.

Options:
  --agent      create an agent key instead of the watchdog key
  --out FILE   where to write the private key
  --force      replace FILE if it exists (the old key stops working everywhere)
  --help       show this help`;

export async function keygenCommand(args: string[], io: CliIo): Promise<number> {
	let values: { out?: string; force?: boolean; help?: boolean; agent?: boolean };
	try {
		({ values } = parseArgs({
			args,
			options: {
				out: { type: "string" },
				agent: { type: "boolean" },
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
	const out = values.out ?? (values.agent ? "agent.key" : "watchdog.key");
	if (out === "") return usageError(io, "--out needs a file name", KEYGEN_HELP);

	const pair = await generateKeyPair();
	const written = await writePrivateKeyFile(out, pair.privateKeyText, values.force ?? false);
	if (!written.ok) {
		io.err(`failover-agent: ${written.message}\n`);
		return EXIT_FAILED;
	}

	if (values.agent) {
		io.out(
			[
				`Wrote this agent's private key to ${resolve(out)} (mode 0600). Keep it on this VPS only.`,
				"",
				`In this agent's config: "agentKeyFile": "${resolve(out)}"`,
				"",
				"Public key: put it in the Worker's pair config, as primary.agentPublicKey on the",
				"primary's VPS or standby.agentPublicKey on the standby's:",
				"",
				`  ${pair.publicKeyText}`,
				"",
				`(agent fingerprint ${await agentFingerprint(pair.publicKeyText)})`,
				"",
			].join("\n"),
		);
		return EXIT_OK;
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
