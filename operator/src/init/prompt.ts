// Getting one answer: from its flag, else from the terminal (asked again until valid), else its default.
import { createInterface, type Interface } from "node:readline/promises";
import type { Checked, Question } from "./questions";

/** Asks one line at a time; `undefined` when input ended (Ctrl-D). */
export interface Prompter {
	ask(text: string): Promise<string | undefined>;
	say(text: string): void;
	close(): void;
}

/** A terminal prompter over stdin/stdout (node:readline/promises). */
export function terminalPrompter(
	input: NodeJS.ReadableStream = process.stdin,
	output: NodeJS.WritableStream = process.stdout,
): Prompter {
	const rl: Interface = createInterface({ input, output, terminal: false });
	let ended = false;
	rl.once("close", () => {
		ended = true;
	});
	return {
		async ask(text) {
			if (ended) return undefined;
			try {
				return await new Promise<string | undefined>((resolve, reject) => {
					const onClose = () => resolve(undefined);
					rl.once("close", onClose);
					rl.question(text).then(
						(a) => {
							rl.off("close", onClose);
							resolve(a);
						},
						(e) => {
							rl.off("close", onClose);
							reject(e);
						},
					);
				});
			} catch {
				return undefined;
			}
		},
		say(text) {
			output.write(text);
		},
		close() {
			rl.close();
		},
	};
}

/**
 * The answer to `q`: a flag value is checked once (a bad one is an error, since a script cannot be
 * asked again); with a prompter the question is asked until the answer passes, showing each refusal's
 * reason; without one the default is used, and a question with no default is an error naming the flag.
 */
export async function resolveAnswer<T>(
	q: Question<T>,
	flagValue: string | undefined,
	prompter: Prompter | undefined,
): Promise<Checked<T>> {
	if (flagValue !== undefined) {
		const r = q.check(flagValue.trim());
		return r.ok ? r : { ok: false, message: `--${q.flag}: ${r.message}` };
	}
	if (prompter === undefined) {
		if (q.fallback === undefined) {
			return { ok: false, message: `--${q.flag} is required (no terminal to ask on)` };
		}
		return q.check(q.fallback);
	}
	for (;;) {
		const shown = q.fallback === undefined ? "" : ` [${q.fallback}]`;
		const raw = await prompter.ask(`${q.prompt}${shown}: `);
		if (raw === undefined)
			return { ok: false, message: `input ended before --${q.flag} was answered` };
		const text = raw.trim() === "" ? q.fallback : raw.trim();
		if (text === undefined) {
			prompter.say("  an answer is required\n");
			continue;
		}
		const r = q.check(text);
		if (r.ok) return r;
		prompter.say(`  refused: ${r.message}\n`);
	}
}
