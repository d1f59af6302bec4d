// `failover-agent call URL ACTION --key FILE`: one signed request to an agent, for operators and scripts.
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import {
	agentFingerprint,
	COMMAND_ACTIONS,
	type CommandAction,
	decodePublicKey,
	importPrivateKey,
	importPublicKey,
	MAX_TERM,
	MAX_WAIT_MS,
	OpIdSchema,
	PAIR_NAME_RE,
	ROLES,
	type Role,
} from "../../../protocol";
import { type CallAction, callAgent } from "../client";
import { printable, printableJson } from "../terminal-text";
import { type CliIo, EXIT_FAILED, EXIT_OK, usageError } from "./io";

export const CALL_HELP = `Usage: failover-agent call URL ACTION --key FILE --pair NAME --side SIDE
                            --agent-key PUBLIC-KEY [--term N] [--op ID] [--wait MS]

Sends one request signed with the watchdog's private key for one agent (its
pair, side and key), checks that the answer is signed by that agent's key, and
prints the JSON answer. ACTION is status, promote, demote or sync.

  URL          the agent's base URL, e.g. http://127.0.0.1:18790
  --key FILE   the watchdog private key (from failover-agent keygen)
  --pair NAME  the agent's pair (its config's "pair")
  --side SIDE  primary or standby (its config's "role")
  --agent-key  the agent's public key "ed25519:..." (printed by
               failover-agent keygen --agent, and by check-config)
  --term N     the command's term; default: the agent's current term (read
               from a signed status first)
  --op ID      operation id; default: a fresh one. Re-sending an id is a safe
               poll: it returns that operation's record and never runs it twice
  --wait MS    how long the agent waits for the action to finish before
               answering (0..${MAX_WAIT_MS}; default ${MAX_WAIT_MS})
  --timeout MS give up after MS (default: --wait plus 5000)

Exit status: 0 when the request succeeded (an action that finished or is still
running), 1 when it was rejected, failed or the agent was unreachable, 2 for a
usage error.`;

const ACTIONS: readonly CallAction[] = ["status", ...COMMAND_ACTIONS];

function integer(
	text: string | undefined,
	name: string,
	min: number,
	max: number,
): number | string | undefined {
	if (text === undefined) return undefined;
	if (!/^[0-9]+$/.test(text) || Number(text) < min || Number(text) > max) {
		return `${name} expects an integer from ${min} to ${max}, got ${JSON.stringify(text)}`;
	}
	return Number(text);
}

export async function callCommand(args: string[], io: CliIo): Promise<number> {
	let parsed: ReturnType<typeof parse>;
	const parse = () =>
		parseArgs({
			args,
			options: {
				key: { type: "string", short: "k" },
				pair: { type: "string" },
				side: { type: "string" },
				"agent-key": { type: "string" },
				term: { type: "string" },
				op: { type: "string" },
				wait: { type: "string" },
				timeout: { type: "string" },
				help: { type: "boolean", short: "h" },
			},
			strict: true,
			allowPositionals: true,
		});
	try {
		parsed = parse();
	} catch (error) {
		return usageError(io, (error as Error).message, CALL_HELP);
	}
	const { values, positionals } = parsed;
	if (values.help) {
		io.out(`${CALL_HELP}\n`);
		return EXIT_OK;
	}
	const [urlText, actionText, ...extra] = positionals;
	if (urlText === undefined || actionText === undefined) {
		return usageError(io, "call needs URL and ACTION", CALL_HELP);
	}
	if (extra.length > 0)
		return usageError(io, `unexpected argument ${JSON.stringify(extra[0])}`, CALL_HELP);
	const url = URL.parse(urlText);
	if (url === null || !/^https?:$/.test(url.protocol)) {
		return usageError(
			io,
			`URL must be an http(s) URL like http://127.0.0.1:18790, got ${JSON.stringify(urlText)}`,
			CALL_HELP,
		);
	}
	if (url.pathname !== "/" || url.search !== "") {
		return usageError(
			io,
			`URL must be the agent's base URL without a path, e.g. ${url.origin}`,
			CALL_HELP,
		);
	}
	if (!(ACTIONS as readonly string[]).includes(actionText)) {
		return usageError(
			io,
			`ACTION must be one of ${ACTIONS.join(", ")}, got ${JSON.stringify(actionText)}`,
			CALL_HELP,
		);
	}
	const action = actionText as CallAction;
	if (values.key === undefined)
		return usageError(io, "call needs --key FILE (the watchdog private key)", CALL_HELP);
	// Never a term the agent's schema would reject: the agent refuses it anyway, so say so here.
	const term = integer(values.term, "--term", 0, MAX_TERM);
	const wait = integer(values.wait, "--wait", 0, MAX_WAIT_MS);
	const timeout = integer(values.timeout, "--timeout", 1, 600_000);
	for (const value of [term, wait, timeout])
		if (typeof value === "string") return usageError(io, value, CALL_HELP);
	if (values.op !== undefined && !OpIdSchema.safeParse(values.op).success) {
		return usageError(io, "--op expects 1..128 characters from [A-Za-z0-9._:-]", CALL_HELP);
	}
	if (values.pair === undefined || !PAIR_NAME_RE.test(values.pair)) {
		return usageError(
			io,
			"call needs --pair NAME: the agent's pair (lowercase letters, digits, dashes)",
			CALL_HELP,
		);
	}
	if (values.side === undefined || !(ROLES as readonly string[]).includes(values.side)) {
		return usageError(io, "call needs --side primary or --side standby", CALL_HELP);
	}
	const agentKeyText = values["agent-key"];
	if (agentKeyText === undefined || !decodePublicKey(agentKeyText).ok) {
		return usageError(
			io,
			'call needs --agent-key "ed25519:..." (the agent\'s public key, from keygen --agent or check-config)',
			CALL_HELP,
		);
	}

	let privateKey: CryptoKey;
	try {
		privateKey = await importPrivateKey(await readFile(values.key, "utf8"));
	} catch (error) {
		io.err(`failover-agent: --key ${values.key}: ${(error as Error).message}\n`);
		return EXIT_FAILED;
	}

	const common = {
		baseUrl: url.origin,
		privateKey,
		audience: {
			pair: values.pair,
			side: values.side as Role,
			agent: await agentFingerprint(agentKeyText),
		},
		agentPublicKey: await importPublicKey(agentKeyText),
		...(typeof timeout === "number" ? { timeoutMs: timeout } : {}),
	};
	let commandTerm = term as number | undefined;
	if (action !== "status" && commandTerm === undefined) {
		const status = await callAgent({ ...common, action: "status" });
		if (!status.ok) return report(io, status);
		commandTerm = "term" in status.body ? status.body.term : 0;
		io.err(`using the agent's current term ${commandTerm}\n`);
	}
	const result = await callAgent({
		...common,
		action,
		...(commandTerm !== undefined ? { term: commandTerm } : {}),
		...(values.op !== undefined ? { opId: values.op } : {}),
		waitMs: typeof wait === "number" ? wait : MAX_WAIT_MS,
	});
	return report(io, result, action === "status" ? undefined : (action as CommandAction));
}

function report(
	io: CliIo,
	result: Awaited<ReturnType<typeof callAgent>>,
	action?: CommandAction,
): number {
	if (!result.ok) {
		switch (result.kind) {
			case "rejected":
				io.out(`${printableJson({ error: { code: result.code, message: result.message } })}\n`);
				io.err(
					`failover-agent: rejected (HTTP ${result.httpStatus} ${printable(result.code)}): ${printable(result.message)}\n`,
				);
				break;
			case "unreachable":
				io.err(`failover-agent: agent unreachable: ${printable(result.message)}\n`);
				break;
			case "redirected":
				io.err(
					`failover-agent: the agent answered HTTP ${result.httpStatus}, a redirect to ${printable(JSON.stringify(result.location))}; not followed: a signed request goes only to the URL given. If that is the right agent, call its URL directly.\n`,
				);
				break;
			case "bad-response":
				io.err(
					`failover-agent: unexpected answer (HTTP ${result.httpStatus}): ${printable(result.message)}\n`,
				);
				break;
		}
		return EXIT_FAILED;
	}
	io.out(`${printableJson(result.body)}\n`);
	if (action !== undefined && "status" in result.body) {
		const { status, opId } = result.body;
		if (status === "running") io.err(`still running; poll with: --op ${opId}\n`);
		if (status === "failed" || status === "interrupted") return EXIT_FAILED;
	}
	return EXIT_OK;
}
