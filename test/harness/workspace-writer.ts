// Stands in for a gateway writing its workspace: a timestamped line every second, a daily memory file, MEMORY.md.
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

/** One line a writer wrote: which file, its text (unique across writers), and when (ms since epoch). */
export interface WrittenLine {
	readonly file: string;
	readonly text: string;
	readonly at: number;
	readonly phase: string;
}

/** The files every writer writes, the same paths on both sides (so both sides edit the same files). */
export const WRITER_FILES = {
	/** Appended every second: the recovery point is read from its newest line. */
	log: "writer.log",
	/** Appended every second tick, as the gateway appends to today's memory file. */
	daily: "memory/2026-11-29.md",
	/** Rewritten whole (truncate, then write) every third tick, as the gateway rewrites MEMORY.md. */
	memory: "MEMORY.md",
} as const;

/**
 * Writes into one workspace once a second while started. Each line is `<side> <phase> <n> <ms>`, so
 * every line written anywhere is unique and can be looked for in the final history. `phase` names the
 * part of the scenario (e.g. "before", "serving", "after") and is set by the test between phases.
 */
export class WorkspaceWriter {
	readonly written: WrittenLine[] = [];
	phase = "before";
	#n = 0;
	#timer: ReturnType<typeof setInterval> | null = null;

	constructor(
		readonly dir: string,
		readonly side: string,
	) {}

	get running(): boolean {
		return this.#timer !== null;
	}

	start(): void {
		if (this.#timer) return;
		this.tick();
		this.#timer = setInterval(() => this.tick(), 1_000);
	}

	/** Stops at once: a line is written whole or not at all (appendFileSync is one write). */
	stop(): void {
		if (this.#timer) clearInterval(this.#timer);
		this.#timer = null;
	}

	/** Newest line written to `file` (ms), or null. */
	lastAt(file: string = WRITER_FILES.log): number | null {
		for (let i = this.written.length - 1; i >= 0; i--) {
			const w = this.written[i];
			if (w?.file === file) return w.at;
		}
		return null;
	}

	/** Lines written in `phase` (all phases when omitted). */
	count(phase?: string): number {
		return this.written.filter((w) => phase === undefined || w.phase === phase).length;
	}

	tick(): void {
		const n = ++this.#n;
		const at = Date.now();
		const line = (file: string) => `${this.side} ${this.phase} ${n} ${at} ${file}`;
		const append = (file: string) => {
			const text = line(file);
			const path = join(this.dir, file);
			mkdirSync(dirname(path), { recursive: true });
			appendFileSync(path, `${text}\n`);
			this.written.push({ file, text, at, phase: this.phase });
		};
		append(WRITER_FILES.log);
		if (n % 2 === 0) append(WRITER_FILES.daily);
		if (n % 3 === 0) {
			const path = join(this.dir, WRITER_FILES.memory);
			const old = existsSync(path) ? readFileSync(path, "utf8") : "";
			const text = line(WRITER_FILES.memory);
			writeFileSync(path, `${old}${text}\n`);
			this.written.push({ file: WRITER_FILES.memory, text, at, phase: this.phase });
		}
	}
}

/** Lines of `text` as a set (empty lines dropped). */
export function lineSet(text: string | undefined): Set<string> {
	return new Set((text ?? "").split("\n").filter((l) => l !== ""));
}
