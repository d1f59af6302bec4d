// The example deployment docs/deployment.md shows: its numbered steps are init's, rendered for these answers.
import { buildDeployment } from "./deployment";
import type { PairAnswers } from "./questions";
import { remainingSteps, renderSteps } from "./steps";

/** The answers a reader of docs/deployment.md gives: the names used throughout the docs. */
export const DOCS_EXAMPLE_PAIR: PairAnswers = {
	name: "home",
	transport: "dial-out",
	readyUrl: "https://primary.tailnet-name.ts.net/readyz",
	expectBody: '"ready":true',
	standbyAgentUrl: undefined,
	primaryAgentUrl: undefined,
	primaryAgent: true,
	probeIntervalSeconds: 5,
	failback: "auto",
	peerReadyUrl: "http://primary.tailnet-name.ts.net:18789/readyz",
	standbyUrl: "http://standby.tailnet-name.ts.net:18789/healthz",
	workspace: "/home/openclaw/.openclaw/workspace",
	gatewayUnit: "openclaw-gateway.service",
	gatewayScope: "user",
	gatewayUser: "openclaw",
	primarySsh: "primary",
	standbySsh: "standby",
};

/** The Worker URL the docs show: parseable (the agents' watchdogUrl), with the part to replace named. */
export const DOCS_EXAMPLE_WORKER_URL = "https://failover-gateway.your-subdomain.workers.dev";

// A fixed, valid public key: only its format matters to the rendered steps.
const EXAMPLE_KEY = "ed25519:GAr4-xiRX3L3YRsSNVKXqXj5V6aW7zhkA3sB724IMzs";

/** The steps block of docs/deployment.md, exactly as init prints it for DOCS_EXAMPLE_PAIR. */
export async function docsStepsBlock(): Promise<string> {
	const built = await buildDeployment([DOCS_EXAMPLE_PAIR], EXAMPLE_KEY, "local", {
		workerUrl: DOCS_EXAMPLE_WORKER_URL,
	});
	if (!built.ok) throw new Error(`docs example does not build: ${built.errors.join("; ")}`);
	return renderSteps(
		remainingSteps({
			deployment: built.deployment,
			dir: "local",
			workerUrl: DOCS_EXAMPLE_WORKER_URL,
		}),
	);
}
