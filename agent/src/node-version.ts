// The one statement of which Node.js the agent needs, and the check that says so in plain words.

/**
 * Oldest Node.js the agent supports. Why 22.12: Node 20 reached end of life on 2026-04-30, so the
 * 22 LTS line is the oldest with security fixes; the agent needs URL.parse (22.1 on that line),
 * Ed25519 in WebCrypto and AbortSignal.any, and 22.12 is the 22 release CI and docs name.
 * The same statement: package.json "engines", .nvmrc (the development pin, newer), the unit file,
 * README, docs/agent.md. test/agent/node-version.test.ts checks they agree.
 */
export const MIN_NODE_VERSION = "22.12.0";

/** Where to get a current Node.js: one line a VPS admin can act on. */
export const NODE_INSTALL_HINT =
	"install Node.js 22 LTS or newer (https://nodejs.org/en/download, or on Debian/Ubuntu: curl -fsSL https://deb.nodesource.com/setup_22.x | sudo bash - && sudo apt-get install -y nodejs), then run the agent with that node";

function parse(version: string): [number, number, number] | null {
	const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version);
	return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : null;
}

/**
 * null when `version` (process.versions.node, "22.12.0", or process.version, "v22.12.0") is at
 * least {@link MIN_NODE_VERSION}; otherwise the message to print, naming both versions and the fix.
 * An unparsable version is refused too: running on an unknown runtime fails later and less clearly.
 */
export function nodeVersionProblem(version: string): string | null {
	const have = parse(version);
	const need = parse(MIN_NODE_VERSION) as [number, number, number];
	if (have !== null) {
		for (let i = 0; i < 3; i++) {
			const h = have[i] as number;
			const n = need[i] as number;
			if (h > n) return null;
			if (h < n) break;
			if (i === 2) return null;
		}
	}
	return `failover-agent needs Node.js >= ${MIN_NODE_VERSION}, and this is ${version}: ${NODE_INSTALL_HINT}.`;
}
