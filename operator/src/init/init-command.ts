// `failover-gateway init`: asks (or reads flags) for each pair, writes every file a deployment needs, prints the rest.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { type CliIo, EXIT_FAILED, EXIT_OK, usageError } from "../io";
import { buildDeployment } from "./deployment";
import { existingPairs, watchdogKey, writeAgentFiles, writeSecrets } from "./files";
import { type Prompter, resolveAnswer } from "./prompt";
import {
	PAIR_FLAGS,
	type PairAnswers,
	pairQuestions,
	type SetupAnswers,
	setupQuestions,
} from "./questions";
import { remainingSteps, renderSteps } from "./steps";

export const INIT_HELP = `Usage: failover-gateway init [options]

Sets up a deployment for one or more pairs: the watchdog key pair, the Worker's
config, each agent's config and unit, and the numbered list of what is left to
run. Asks for each answer on a terminal (Enter takes the default in [brackets]);
every question is also a flag, so it runs unattended. Repeat the pair flags
once per pair, in the same order as --pair.

Options:
  --dir DIR                 output folder (default: local, git-ignored)
  --yes                     ask nothing: take flags, then defaults
  --force                   replace an existing watchdog.key (the old key stops working)
  --local-dev               allow loopback and http URLs (local development only)
  --transport dial-out|endpoint
                            dial-out (default, recommended): each agent keeps one
                            outbound WebSocket to the Worker, no inbound port;
                            endpoint: the Worker calls each agent's https URL
  --worker-url URL          the Worker's URL (https://failover-gateway.<sub>.workers.dev):
                            the agents dial it (required for dial-out)
Per pair (repeatable):
  --pair NAME               pair name, a slug (default: home)
  --ready-url URL           primary's /readyz as the Worker reaches it (https)
  --expect-body TEXT        readiness body must contain it (default: "ready":true)
  --primary-agent yes|no    dial-out: run an agent on the primary too (default: yes)
  --standby-agent-url URL   endpoint: standby agent as the Worker reaches it (https)
  --primary-agent-url URL   endpoint: primary agent, or "none" (default: none)
  --probe-interval SECONDS  (default: 5)
  --failback auto|manual    (default: auto)
  --peer-ready-url URL      primary's /readyz over the tailnet, for the standby
  --standby-url URL         a URL on the standby's host over the tailnet, for the
                            primary's self-fence, or "none" (required with a primary agent)
  --workspace PATH          gateway workspace on the VPSes
  --gateway-unit NAME       (default: openclaw-gateway.service)
  --gateway-scope user|system (default: user)
  --gateway-user USER       the gateway's Unix user (default: openclaw)
  --primary-ssh DEST, --standby-ssh DEST   ssh destinations for the printed commands`;

export interface InitOptions {
	/** Asks questions; undefined runs unattended (flags, then defaults). */
	prompter?: Prompter;
}

type Flags = Record<string, string | boolean | (string | boolean)[] | undefined>;

export async function initCommand(
	args: string[],
	io: CliIo,
	opts: InitOptions = {},
): Promise<number> {
	let values: Flags;
	try {
		const options: Record<string, { type: "string" | "boolean"; multiple?: boolean }> = {
			dir: { type: "string" },
			yes: { type: "boolean" },
			force: { type: "boolean" },
			"local-dev": { type: "boolean" },
			"worker-url": { type: "string" },
			transport: { type: "string" },
			help: { type: "boolean" },
		};
		for (const flag of PAIR_FLAGS) options[flag] = { type: "string", multiple: true };
		({ values } = parseArgs({ args, options, strict: true, allowPositionals: false }));
	} catch (error) {
		return usageError(io, (error as Error).message, INIT_HELP);
	}
	if (values.help) {
		io.out(`${INIT_HELP}\n`);
		return EXIT_OK;
	}
	const dir = (values.dir as string | undefined) ?? "local";
	const allowLocal = values["local-dev"] === true;
	const prompter = values.yes ? undefined : opts.prompter;
	const listed = (values.pair as string[] | undefined)?.length ?? 0;

	const setup: Partial<SetupAnswers> = {};
	for (const key of Object.keys(setupQuestions(setup, allowLocal)) as (keyof SetupAnswers)[]) {
		// Rebuilt per question: the Worker URL's default and rule follow the transport.
		const q = setupQuestions(setup, allowLocal)[key];
		const flag = values[q.flag] as string | undefined;
		const r = await resolveAnswer<unknown>(q, flag, prompter);
		if (!r.ok) {
			io.err(`failover-gateway init: ${r.message}\n`);
			return EXIT_FAILED;
		}
		(setup as Record<string, unknown>)[key] = r.value;
	}
	const transport = setup.transport ?? "dial-out";
	const asked = new Set(
		Object.values(pairQuestions(0, {}, allowLocal, transport)).map((q) => q.flag),
	);
	const foreign = PAIR_FLAGS.find((f) => values[f] !== undefined && !asked.has(f));
	if (foreign !== undefined) {
		io.err(
			`failover-gateway init: --${foreign} does not apply to --transport ${transport} (${
				transport === "dial-out"
					? "dial-out agents need no URL: they dial the Worker; use --primary-agent yes|no, or --transport endpoint"
					: "it is for --transport dial-out"
			})\n`,
		);
		return EXIT_FAILED;
	}

	const pairs: PairAnswers[] = [];
	for (let i = 0; ; i++) {
		if (prompter) prompter.say(`\nPair ${i + 1}\n`);
		const answers: Partial<PairAnswers> = {
			transport,
			standbyAgentUrl: undefined,
			primaryAgentUrl: undefined,
			primaryAgent: undefined,
		};
		const keys = Object.keys(
			pairQuestions(i, answers, allowLocal, transport),
		) as (keyof PairAnswers)[];
		for (const key of keys) {
			// Rebuilt per question, so a default can follow an earlier answer of the same pair.
			const q = pairQuestions(i, answers, allowLocal, transport)[key];
			if (q === undefined) continue;
			const flag = (values[q.flag] as string[] | undefined)?.[i];
			const r = await resolveAnswer<unknown>(q, flag, prompter);
			if (!r.ok) {
				io.err(`failover-gateway init: ${r.message}\n`);
				return EXIT_FAILED;
			}
			(answers as Record<string, unknown>)[key] = r.value;
		}
		if (pairs.some((p) => p.name === answers.name)) {
			io.err(`failover-gateway init: pair "${answers.name}" is listed twice\n`);
			return EXIT_FAILED;
		}
		pairs.push(answers as PairAnswers);
		if (i + 1 < listed) continue;
		if (!prompter || listed > 0) break;
		const more = await prompter.ask("Add another pair? [y/N]: ");
		if (!/^y(es)?$/i.test(more?.trim() ?? "")) break;
	}

	// The i-th value of a pair flag answers pair i: a value beyond the last pair would be dropped
	// silently (a repeated --workspace, a second --ready-url meant as a fix), so it is refused. Checked
	// after the values themselves, so a bad value is named first.
	for (const f of PAIR_FLAGS) {
		const n = (values[f] as string[] | undefined)?.length ?? 0;
		if (n > pairs.length) {
			io.err(
				`failover-gateway init: --${f} is given ${n} times for ${pairs.length} pair(s); a pair flag is repeated once per --pair, in the same order: drop the extra --${f} or add the --pair it belongs to\n`,
			);
			return EXIT_FAILED;
		}
	}

	await mkdir(dir, { recursive: true, mode: 0o700 });
	const keyFile = join(dir, "watchdog.key");
	const key = await watchdogKey(keyFile, values.force === true);
	if (!key.ok) {
		io.err(`failover-gateway init: ${key.message}\n`);
		return EXIT_FAILED;
	}
	const workerFile = join(dir, "worker-config.json");
	const existing = await existingPairs(workerFile);
	if (!existing.ok) {
		io.err(`failover-gateway init: ${existing.message}\n`);
		return EXIT_FAILED;
	}
	const kept = existing.pairs.filter((p) => !pairs.some((n) => n.name === p.name));
	const built = await buildDeployment(pairs, key.publicKeyText, dir, {
		kept,
		workerUrl: setup.workerUrl,
		localDevelopment: allowLocal,
	});
	if (!built.ok) {
		io.err(
			"failover-gateway init: the configs would not parse (a bug in init or a rule it does not ask about):\n",
		);
		for (const e of built.errors) io.err(`  - ${e}\n`);
		return EXIT_FAILED;
	}
	const { deployment } = built;
	const secretsFile = join(dir, "worker-secrets.json");
	const secrets = await writeSecrets(secretsFile, key.privateKeyText);
	if (!secrets.ok) {
		io.err(`failover-gateway init: ${secrets.message}\n`);
		return EXIT_FAILED;
	}
	const written = [keyFile, secretsFile];
	await writeFile(workerFile, `${JSON.stringify(deployment.worker, null, 2)}\n`);
	written.push(workerFile);
	for (const a of deployment.agents) written.push(...(await writeAgentFiles(a)));
	const steps = renderSteps(
		remainingSteps({
			deployment,
			dir,
			...(setup.workerUrl !== undefined ? { workerUrl: setup.workerUrl } : {}),
		}),
	);
	await writeFile(join(dir, "steps.txt"), `${steps}\n`);
	io.out(
		[
			`Wrote (in ${dir}/, git-ignored; keys and secrets mode 0600):`,
			...written.map((f) => `  ${f}`),
			"",
			`Watchdog public key (already in each agent config): ${key.publicKeyText}`,
			kept.length > 0
				? `Kept the other pairs already in ${workerFile}: ${kept.map((p) => p.name).join(", ")}`
				: "",
			key.reused ? `(reused the existing ${keyFile}; --force makes a new one)` : "",
			!key.reused && kept.length > 0
				? `WARNING: the kept pairs' agents hold the previous public key; run init for them too (${kept.map((p) => p.name).join(", ")})`
				: "",
			"",
			`What is left, in order (also in ${join(dir, "steps.txt")}):`,
			"",
			steps,
			"",
		].join("\n"),
	);
	return EXIT_OK;
}
