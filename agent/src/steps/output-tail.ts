// Keeps the last N bytes of a stream of output, so a chatty command never grows the agent's memory or status JSON.
import { Buffer } from "node:buffer";

/**
 * 4 KiB: enough for the end of a git, systemctl or script error (the part that says what went wrong),
 * small enough that an operation with several steps still fits in one status response.
 */
export const OUTPUT_LIMIT_BYTES = 4096;

export class OutputTail {
	readonly #limit: number;
	#chunks: Buffer[] = [];
	#kept = 0;
	#dropped = 0;

	/** `alreadyDropped`: bytes cut before this tail saw the stream (see boundText). */
	constructor(limit = OUTPUT_LIMIT_BYTES, alreadyDropped = 0) {
		this.#limit = limit;
		this.#dropped = alreadyDropped;
	}

	push(chunk: Buffer | string): void {
		const buf = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk;
		this.#chunks.push(buf);
		this.#kept += buf.length;
		// Drop whole chunks from the front while the rest still covers the limit; the final slice is exact.
		while (this.#chunks.length > 1) {
			const first = this.#chunks[0];
			if (first === undefined || this.#kept - first.length < this.#limit) break;
			this.#chunks.shift();
			this.#kept -= first.length;
			this.#dropped += first.length;
		}
	}

	/** The kept tail as text, prefixed with "[truncated N bytes]" when anything was dropped. */
	toString(): string {
		let buf = Buffer.concat(this.#chunks);
		let dropped = this.#dropped;
		if (buf.length > this.#limit) {
			dropped += buf.length - this.#limit;
			buf = buf.subarray(buf.length - this.#limit);
		}
		if (dropped > 0) {
			// Cutting bytes can split a UTF-8 sequence: skip its continuation bytes rather than print U+FFFD.
			let skip = 0;
			while (skip < 3 && skip < buf.length && ((buf[skip] ?? 0) & 0xc0) === 0x80) skip++;
			buf = buf.subarray(skip);
			dropped += skip;
			return `[truncated ${dropped} bytes]\n${buf.toString("utf8")}`;
		}
		return buf.toString("utf8");
	}
}

/** Bounds a finished piece of text the same way: the last `limit` bytes, with a truncation note. */
export function boundText(text: string, limit = OUTPUT_LIMIT_BYTES): string {
	// Text that is already a tail keeps one note, counting both cuts, rather than losing the first one.
	const note = /^\[truncated (\d+) bytes\]\n/.exec(text);
	const tail = new OutputTail(limit, note === null ? 0 : Number(note[1]));
	tail.push(note === null ? text : text.slice(note[0].length));
	return tail.toString();
}
