import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runStep, type StepContext } from "../../../agent/src/steps/run-step";
import { StepSchema } from "../../../agent/src/steps/schema";
import { isDead, tempDir } from "./helpers";

const node = process.execPath;
const dir = tempDir("exec");
afterAll(() => dir.remove());

const ctx: StepContext = {
	workspace: dir.path,
	gatewayUnit: { name: "openclaw-gateway.service", scope: "system" },
	readyUrl: "http://127.0.0.1:9/readyz",
};

const exec = (fields: Record<string, unknown>) => StepSchema.parse({ type: "exec", ...fields });

describe("exec step", () => {
	it("succeeds on exit 0 and keeps the output", async () => {
		const outcome = await runStep(exec({ argv: [node, "-e", "console.log('hook ran')"] }), ctx);
		expect(outcome).toMatchObject({ status: "succeeded", exitCode: 0 });
		expect(outcome.output).toContain("hook ran");
		expect(outcome.error).toBeUndefined();
	});

	it("fails on a non-zero exit, with the code and the output", async () => {
		const outcome = await runStep(
			exec({ argv: [node, "-e", "console.error('disk full'); process.exit(3)"] }),
			ctx,
		);
		expect(outcome).toMatchObject({ status: "failed", exitCode: 3 });
		expect(outcome.error).toContain("exited with code 3");
		expect(outcome.output).toContain("disk full");
	});

	it("fails clearly when the program does not exist", async () => {
		const outcome = await runStep(exec({ argv: ["fg-missing-hook", "now"] }), ctx);
		expect(outcome.status).toBe("failed");
		expect(outcome.exitCode).toBeNull();
		expect(outcome.error).toContain("program not found: fg-missing-hook");
	});

	it("kills a command at its timeout, children included", async () => {
		const pidFile = join(dir.path, "exec-child.pid");
		const started = Date.now();
		const outcome = await runStep(
			exec({ argv: ["sh", "-c", `sleep 30 & echo $! > '${pidFile}'; sleep 30`], timeoutMs: 300 }),
			ctx,
		);
		expect(outcome.status).toBe("failed");
		expect(outcome.exitCode).toBeNull();
		expect(outcome.error).toContain("timed out after 300 ms");
		expect(Date.now() - started).toBeLessThan(15_000);
		const childPid = Number(readFileSync(pidFile, "utf8").trim());
		const until = Date.now() + 5_000;
		while (!isDead(childPid) && Date.now() < until) await new Promise((r) => setTimeout(r, 25));
		expect(isDead(childPid)).toBe(true);
	});

	it("runs in the workspace by default, resolves a relative cwd against it, and passes env", async () => {
		mkdirSync(join(dir.path, "hooks"), { recursive: true });
		const script = "process.stdout.write(process.cwd() + ' ' + process.env.ROLE)";
		const inWorkspace = await runStep(
			exec({ argv: [node, "-e", script], env: { ROLE: "standby" } }),
			ctx,
		);
		expect(inWorkspace.output).toBe(`${dir.path} standby`);
		const inSub = await runStep(
			exec({ argv: [node, "-e", script], cwd: "hooks", env: { ROLE: "x" } }),
			ctx,
		);
		expect(inSub.output).toBe(`${join(dir.path, "hooks")} x`);
	});

	it("bounds the output to the last 4 KiB", async () => {
		const outcome = await runStep(
			exec({ argv: [node, "-e", "process.stdout.write('z'.repeat(100000) + 'TAIL')"] }),
			ctx,
		);
		expect(outcome.status).toBe("succeeded");
		expect(outcome.output).toMatch(/^\[truncated 95908 bytes\]\n/);
		expect(outcome.output.endsWith("zTAIL")).toBe(true);
	});

	it("uses the injected runner when one is given", async () => {
		const seen: string[][] = [];
		const outcome = await runStep(exec({ argv: ["anything", "--flag"] }), {
			...ctx,
			runCommand: async (req) => {
				seen.push([...req.argv]);
				return { kind: "exited", exitCode: 0, output: "fake", ms: 1 };
			},
		});
		expect(seen).toEqual([["anything", "--flag"]]);
		expect(outcome).toMatchObject({ status: "succeeded", output: "fake" });
	});
});
