// Imported first by main.ts: stops the bundle with a clear message on a Node.js older than it needs.
import { nodeVersionProblem } from "./node-version";

// Runs at module evaluation, before any later module of the bundle: esbuild keeps import order,
// so nothing that needs a newer Node has run yet. Plain code only: this must work on old Nodes.
const problem = nodeVersionProblem(process.versions.node);
if (problem !== null) {
	process.stderr.write(`${problem}\n`);
	process.exit(1);
}
