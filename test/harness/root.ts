// The project root, found from the working directory (npm scripts and vitest run there), bundle-safe.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";

export function projectRoot(start = process.cwd()): string {
	let dir = start;
	for (;;) {
		const pkg = join(dir, "package.json");
		if (existsSync(pkg) && JSON.parse(readFileSync(pkg, "utf8")).name === "failover-gateway") {
			return dir;
		}
		const up = dirname(dir);
		if (up === dir) throw new Error(`not inside the failover-gateway project: ${start}`);
		dir = up;
	}
}
