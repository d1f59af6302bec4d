import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createCommandRunner, runCommand } from "../../../agent/src/steps/run-command";
import { isDead, tempDir } from "./helpers";

const node = process.execPath;
const dir = tempDir("run-command");
afterAll(() => dir.remove());

async function waitFor(check: () => boolean, ms = 5_000): Promise<boolean> {
	const until = Date.now() + ms;
	while (Date.now() < until) {
		if (check()) return true;
		await new Promise((r) => setTimeout(r, 25));
	}
	return check();
}

describe("runCommand", () => {
	it("captures stdout and stderr together and the exit code", async () => {
		const result = await runCommand({
			argv: [
				node,
				"-e",
				"process.stdout.write('to-out\\n'); process.stderr.write('to-err\\n'); process.exitCode = 0",
			],
			timeoutMs: 10_000,
		});
		expect(result.kind).toBe("exited");
		if (result.kind !== "exited") return;
		expect(result.exitCode).toBe(0);
		expect(result.output).toContain("to-out");
		expect(result.output).toContain("to-err");
	});

	it("reports a non-zero exit code", async () => {
		const result = await runCommand({ argv: [node, "-e", "process.exit(7)"], timeoutMs: 10_000 });
		expect(result).toMatchObject({ kind: "exited", exitCode: 7 });
	});

	it("passes arguments verbatim, with no shell in between", async () => {
		const tricky = ["$HOME", "a b", "; echo pwned", "`id`", "*"];
		const result = await runCommand({
			argv: [node, "-e", "process.stdout.write(JSON.stringify(process.argv.slice(1)))", ...tricky],
			timeoutMs: 10_000,
		});
		expect(JSON.parse(result.output)).toEqual(tricky);
	});

	it("uses cwd and merges env over the agent's environment", async () => {
		const sub = join(dir.path, "cwd-test");
		mkdirSync(sub, { recursive: true });
		const result = await runCommand({
			argv: [
				node,
				"-e",
				"process.stdout.write(process.cwd() + '|' + process.env.STEP_VAR + '|' + (process.env.PATH ? 'path' : 'nopath'))",
			],
			cwd: sub,
			env: { STEP_VAR: "hello" },
			timeoutMs: 10_000,
		});
		expect(result.output).toBe(`${sub}|hello|path`);
	});

	it("reports a missing program without throwing", async () => {
		const result = await runCommand({ argv: ["fg-no-such-program-xyz", "--x"], timeoutMs: 10_000 });
		expect(result.kind).toBe("spawn-failed");
		if (result.kind !== "spawn-failed") return;
		expect(result.error).toContain("program not found: fg-no-such-program-xyz");
	});

	it("reports a missing working directory as such, not as a missing program", async () => {
		const result = await runCommand({
			argv: [node, "-e", ""],
			cwd: join(dir.path, "nope"),
			timeoutMs: 10_000,
		});
		expect(result.kind).toBe("spawn-failed");
		if (result.kind !== "spawn-failed") return;
		expect(result.error).toContain("working directory not found");
	});

	it("refuses an empty argv", async () => {
		const result = await runCommand({ argv: [], timeoutMs: 10_000 });
		expect(result.kind).toBe("spawn-failed");
	});

	it("kills `sleep 30` at its timeout, long before it would finish", async () => {
		const started = Date.now();
		const result = await runCommand({ argv: ["sleep", "30"], timeoutMs: 300 });
		expect(result.kind).toBe("timeout");
		// Not a timing assertion: 30 s is what happens if the kill does not work.
		expect(Date.now() - started).toBeLessThan(15_000);
	});

	it("kills the children of a timed-out command too (the whole process group)", async () => {
		const pidFile = join(dir.path, "child.pid");
		const result = await runCommand({
			argv: ["sh", "-c", `sleep 30 & echo $! > '${pidFile}'; wait`],
			timeoutMs: 300,
		});
		expect(result.kind).toBe("timeout");
		const childPid = Number(readFileSync(pidFile, "utf8").trim());
		expect(childPid).toBeGreaterThan(0);
		expect(await waitFor(() => isDead(childPid))).toBe(true);
	});

	it("escalates to SIGKILL when the group ignores SIGTERM", async () => {
		const pidFile = join(dir.path, "stubborn.pid");
		const run = createCommandRunner({ killGraceMs: 200 });
		const result = await run({
			// An ignored signal stays ignored in the children, so both sh and sleep shrug off SIGTERM.
			argv: ["sh", "-c", `trap '' TERM; sleep 30 & echo $! > '${pidFile}'; wait; wait`],
			timeoutMs: 300,
		});
		expect(result.kind).toBe("timeout");
		const childPid = Number(readFileSync(pidFile, "utf8").trim());
		expect(await waitFor(() => isDead(childPid))).toBe(true);
	});

	it("stops on abort and says so", async () => {
		const controller = new AbortController();
		const pending = runCommand({
			argv: ["sleep", "30"],
			timeoutMs: 60_000,
			signal: controller.signal,
		});
		setTimeout(() => controller.abort(), 100);
		const result = await pending;
		expect(result.kind).toBe("aborted");
	});

	it("does not wait for a background child that keeps the output pipe open", async () => {
		const pidFile = join(dir.path, "bg.pid");
		const started = Date.now();
		const result = await runCommand({
			argv: ["sh", "-c", `sleep 30 & echo $! > '${pidFile}'; echo done`],
			timeoutMs: 20_000,
		});
		expect(result).toMatchObject({ kind: "exited", exitCode: 0 });
		expect(result.output).toContain("done");
		expect(Date.now() - started).toBeLessThan(15_000);
		process.kill(Number(readFileSync(pidFile, "utf8").trim()), "SIGKILL");
	});

	it("keeps only the last 4 KiB of output and says how much it dropped", async () => {
		const result = await runCommand({
			argv: [node, "-e", "process.stdout.write('a'.repeat(5000) + 'END')"],
			timeoutMs: 10_000,
		});
		expect(result.output.startsWith("[truncated 907 bytes]\n")).toBe(true);
		expect(result.output.endsWith("aEND")).toBe(true);
		expect(Buffer.byteLength(result.output.slice("[truncated 907 bytes]\n".length))).toBe(4096);
	});

	it("bounds a very large output stream (megabytes) to the same tail", async () => {
		const result = await runCommand({
			argv: [
				node,
				"-e",
				"for (let i = 0; i < 200; i++) process.stdout.write('x'.repeat(10000) + '\\n'); process.stdout.write('LAST')",
			],
			timeoutMs: 20_000,
		});
		expect(result.output).toMatch(/^\[truncated \d+ bytes\]\n/);
		expect(result.output.endsWith("LAST")).toBe(true);
		expect(result.output.length).toBeLessThan(4200);
	});
});
