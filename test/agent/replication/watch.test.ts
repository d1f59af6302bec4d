// The workspace watch: reports changes, ignores git's own writes, and says so when it cannot watch.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { watchWorkspace } from "../../../agent/src/replication/watch";
import { tempDir } from "../steps/helpers";

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describe("watchWorkspace", { timeout: 30_000 }, () => {
	it("reports a changed file and not a write under .git", async () => {
		const dir = tempDir("watch");
		try {
			mkdirSync(join(dir.path, ".git"));
			mkdirSync(join(dir.path, "memory"));
			const seen: string[] = [];
			const w = watchWorkspace(dir.path, { onChange: (p) => seen.push(p), onFallback: () => {} });
			expect(w.active).toBe(true);
			await sleep(300);
			writeFileSync(join(dir.path, ".git", "index"), "x");
			await sleep(500);
			expect(seen.filter((p) => p.startsWith(".git"))).toEqual([]);
			writeFileSync(join(dir.path, "memory", "2026-11-29.md"), "x");
			for (let i = 0; i < 50 && !seen.some((p) => p.includes("2026-11-29.md")); i++)
				await sleep(100);
			expect(seen.some((p) => p.includes("2026-11-29.md"))).toBe(true);
			w.close();
		} finally {
			dir.remove();
		}
	});

	it("falls back to the timer, once and with the reason, when it cannot watch", () => {
		const reasons: string[] = [];
		const w = watchWorkspace("/nonexistent/fg-watch", {
			onChange: () => {},
			onFallback: (r) => reasons.push(r),
		});
		expect(w.active).toBe(false);
		expect(reasons).toHaveLength(1);
		expect(reasons[0]).toMatch(/ENOENT|no such file/i);
	});
});
