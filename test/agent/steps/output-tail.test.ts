import { Buffer } from "node:buffer";
import { describe, expect, it } from "vitest";
import { boundText, OutputTail } from "../../../agent/src/steps/output-tail";

describe("OutputTail", () => {
	it("keeps short output whole, with no note", () => {
		const tail = new OutputTail(16);
		tail.push("hello ");
		tail.push(Buffer.from("world"));
		expect(tail.toString()).toBe("hello world");
	});

	it("keeps exactly the last `limit` bytes across many chunks and counts what it dropped", () => {
		const tail = new OutputTail(10);
		for (let i = 0; i < 10; i++) tail.push(`${i}abc`);
		// 40 bytes in, 10 kept: "8abc9abc" is 8, so the kept tail is "bc8abc9abc".
		expect(tail.toString()).toBe("[truncated 30 bytes]\nbc8abc9abc");
	});

	it("never starts the tail in the middle of a UTF-8 character", () => {
		const tail = new OutputTail(5);
		tail.push("ééé"); // 6 bytes: the cut falls inside the first "é"
		expect(tail.toString()).toBe("[truncated 2 bytes]\néé");
	});

	it("boundText applies the same rule to finished text", () => {
		expect(boundText("abcdef", 4)).toBe("[truncated 2 bytes]\ncdef");
		expect(boundText("abc", 4)).toBe("abc");
	});
});

describe("boundText on text that is already a tail", () => {
	it("keeps a single note and adds up both cuts", () => {
		expect(boundText("[truncated 10 bytes]\nabcd", 4)).toBe("[truncated 10 bytes]\nabcd");
		expect(boundText("[truncated 10 bytes]\nabcdef", 4)).toBe("[truncated 12 bytes]\ncdef");
	});
});
