// The numbered steps that remain after `init`: printed by init and pasted into docs/deployment.md (one source).
import { join } from "node:path";
import type { Deployment } from "./deployment";

/** One numbered step: where it runs, what it does, the exact commands, and an optional one-line note. */
export interface Step {
	where: string;
	title: string;
	commands: string[];
	note?: string;
}

export interface StepsInput {
	deployment: Pick<Deployment, "agents" | "pairs">;
	/** init's output folder, as the operator typed it (relative to the project). */
	dir: string;
	/** The deployed Worker's URL, when known; a placeholder otherwise. */
	workerUrl?: string;
}

export const WORKER_URL_PLACEHOLDER = "https://failover-gateway.<your-subdomain>.workers.dev";

/** "primary", or "primary (ssh admin@203.0.113.7)" when its ssh destination is not simply its role. */
const host = (role: string, ssh: string) => (ssh === role ? role : `${role} (ssh ${ssh})`);

const isFunnel = (url: string) => URL.parse(url)?.hostname.endsWith(".ts.net") ?? false;
const portOf = (url: string) => URL.parse(url)?.port || "443";

/** The files init writes into an agent's folder (the polkit rule only for a system-scope gateway unit). */
export function agentFiles(a: Pick<Deployment["agents"][number], "gatewayScope">): string[] {
	return [
		"config.json",
		"agent.key",
		"failover-agent.service",
		...(a.gatewayScope === "system" ? ["50-failover-agent.rules"] : []),
	];
}

/** The steps, in order. Agent and pair steps repeat per agent and per pair. */
export function remainingSteps(input: StepsInput): Step[] {
	const { deployment, dir } = input;
	const W = input.workerUrl ?? WORKER_URL_PLACEHOLDER;
	const key = join(dir, "watchdog.key");
	const steps: Step[] = [
		{
			where: "your machine",
			title: "Build the agent bundle (one file, no checkout needed on the VPS)",
			commands: ["npm run build:agent"],
		},
	];
	for (const p of deployment.pairs) {
		steps.push({
			where: `${host("primary", p.primarySsh)}, as the gateway's user`,
			title: `Pair ${p.name}: let the standby reach the primary's gateway over the tailnet`,
			commands: ["openclaw config set gateway.bind tailnet", "openclaw gateway restart"],
			note: "a bind beyond loopback needs gateway auth (a token); OpenClaw refuses to start without it",
		});
		steps.push({
			where: host("standby", p.standbySsh),
			title: `Pair ${p.name}: check the primary answers over the tailnet`,
			commands: [`curl -s ${p.peerReadyUrl}`],
			note: 'expect {"ready":true}; "connection refused" means the primary still binds to loopback',
		});
		if (isFunnel(p.readyUrl) || (p.standbyAgentUrl && isFunnel(p.standbyAgentUrl))) {
			steps.push({
				where: `${host("primary", p.primarySsh)} and ${host("standby", p.standbySsh)}, as the gateway's user`,
				title: `Pair ${p.name}: leave Funnel to these steps (OpenClaw's own Tailscale mode would replace or reset it)`,
				commands: ["openclaw config get gateway.tailscale"],
				note: 'expect mode "off" (or "serve") and resetOnExit false; docs/openclaw.md#tailscale-settings-in-openclaw',
			});
		}
		steps.push({
			where: `${host("standby", p.standbySsh)}, as the gateway's user`,
			title: `Pair ${p.name}: give the standby its own bot for every chat channel, never the primary's tokens`,
			commands: [],
			note: "two gateways on one Telegram or Discord token fight; docs/openclaw.md#one-bot-token-per-node",
		});
		steps.push(
			isFunnel(p.readyUrl)
				? {
						where: host("primary", p.primarySsh),
						title: `Pair ${p.name}: publish only /readyz through Tailscale Funnel`,
						commands: [
							`sudo tailscale funnel --bg --https=${portOf(p.readyUrl)} --set-path=/readyz http://127.0.0.1:18789/readyz`,
						],
						note: "docs/deployment.md#tailscale-funnel explains gateway.tailscale.mode and resetOnExit",
					}
				: {
						where: host("primary", p.primarySsh),
						title: `Pair ${p.name}: route ${URL.parse(p.readyUrl)?.hostname} to 127.0.0.1:18789 (path ^/readyz$) in the Cloudflare Tunnel`,
						commands: [`cloudflared tunnel route dns primary ${URL.parse(p.readyUrl)?.hostname}`],
						note: "one level under the zone only; see docs/deployment.md#cloudflare-tunnel",
					},
		);
		// The primary seeds the remote before the standby clones it.
		for (const role of ["primary", "standby"] as const) {
			const a = deployment.agents.find((x) => x.pair === p.name && x.role === role);
			if (a)
				steps.push(
					...workspaceSteps(a, host(role, role === "primary" ? p.primarySsh : p.standbySsh)),
				);
		}
	}
	for (const a of deployment.agents) {
		const pair = deployment.pairs.find((p) => p.name === a.pair);
		const agentUrl = a.role === "standby" ? pair?.standbyAgentUrl : pair?.primaryAgentUrl;
		const on = host(a.role, a.ssh);
		const u = a.gatewayUser;
		steps.push({
			where: "your machine",
			title: `Pair ${a.pair}: copy the ${a.role}'s agent files`,
			commands: [
				`scp dist/agent.mjs ${agentFiles(a)
					.map((f) => join(a.folder, f))
					.join(" ")} ${a.ssh}:/tmp/`,
			],
		});
		steps.push({
			where: on,
			title: `Pair ${a.pair}: install the agent (bundle, config, unit)`,
			commands: [
				"sudo install -D -m 0755 /tmp/agent.mjs /opt/failover-agent/agent.mjs",
				`sudo install -D -m 0640 -o root -g ${u} /tmp/config.json /etc/failover-agent/config.json`,
				`sudo install -m 0600 -o ${u} -g ${u} /tmp/agent.key /etc/failover-agent/agent.key && rm /tmp/agent.key`,
				"sudo install -m 0644 /tmp/failover-agent.service /etc/systemd/system/failover-agent.service",
				a.gatewayScope === "user"
					? `sudo loginctl enable-linger ${u}`
					: "sudo install -m 0644 /tmp/50-failover-agent.rules /etc/polkit-1/rules.d/50-failover-agent.rules",
			],
		});
		const tryPush = pushUnderSandbox(a, on);
		if (tryPush) steps.push(tryPush);
		if (a.role === "standby") {
			steps.push({
				where: on,
				title: `Pair ${a.pair}: the standby's gateway must not start on its own (the agent starts it)`,
				commands: [
					a.gatewayScope === "user"
						? `sudo systemctl --user -M ${u}@ disable --now ${a.config.gatewayUnit.name}`
						: `sudo systemctl disable --now ${a.config.gatewayUnit.name}`,
				],
			});
		}
		steps.push({
			where: on,
			title: `Pair ${a.pair}: check everything the ${a.role} agent will need, as its user`,
			commands: [
				`sudo -H -u ${u} node /opt/failover-agent/agent.mjs doctor --config /etc/failover-agent/config.json`,
			],
			note: "each failed check prints its fix; run it again until it passes",
		});
		steps.push(
			pair?.transport === "dial-out"
				? {
						where: on,
						title: `Pair ${a.pair}: start the ${a.role} agent (it dials the Worker; no port to publish)`,
						commands: [
							"sudo systemctl daemon-reload && sudo systemctl enable --now failover-agent",
						],
						note: "until the Worker is deployed it retries with backoff (up to a minute apart)",
					}
				: {
						where: on,
						title: `Pair ${a.pair}: start the ${a.role} agent and publish it`,
						commands: [
							"sudo systemctl daemon-reload && sudo systemctl enable --now failover-agent",
							...(agentUrl && isFunnel(agentUrl)
								? [`sudo tailscale funnel --bg --https=${portOf(agentUrl)} http://127.0.0.1:18790`]
								: []),
						],
					},
		);
	}
	for (const p of deployment.pairs) {
		steps.push(
			p.standbyAgentUrl !== undefined
				? {
						where: "your machine (outside the tailnet)",
						title: `Pair ${p.name}: check both URLs the Worker will use, and the key`,
						commands: [
							`curl -si ${p.readyUrl}`,
							`curl -s ${p.standbyAgentUrl}/healthz`,
							`npx failover-agent call ${p.standbyAgentUrl} status --key ${key}`,
						],
					}
				: {
						where: "your machine (outside the tailnet)",
						title: `Pair ${p.name}: check the readiness URL the Worker will probe`,
						commands: [`curl -si ${p.readyUrl}`],
						note: 'expect 200 and {"ready":true}; the agents need no URL (they dial out)',
					},
		);
	}
	const dialOut = deployment.agents.filter(
		(a) => deployment.pairs.find((p) => p.name === a.pair)?.transport === "dial-out",
	);
	steps.push({
		where: "your machine",
		title:
			dialOut.length > 0
				? "Deploy the Worker with your config and its two secrets (the agents then connect to it)"
				: "Deploy the Worker with your config and its two secrets (the agents already answer)",
		commands: [
			`npx wrangler deploy --var "WATCHDOG_CONFIG:$(cat ${join(dir, "worker-config.json")})" --secrets-file ${join(dir, "worker-secrets.json")}`,
		],
		note: "the Worker starts watching within a minute; later changes: edit the file, run this again",
	});
	for (const a of dialOut) {
		steps.push({
			where: host(a.role, a.ssh),
			title: `Pair ${a.pair}: check the ${a.role} agent is connected to the Worker`,
			commands: ['sudo journalctl -u failover-agent | grep \"dial-out: connected\" | tail -n 1'],
			note: 'no line: "dial-out: connection closed" nearby says why (its reason names a wrong key, pair or URL)',
		});
	}
	steps.push(
		{
			where: "your machine",
			title: "Ask the deployed Worker whether a failover would work",
			commands: [
				`export ADMIN_TOKEN="$(jq -r .ADMIN_TOKEN ${join(dir, "worker-secrets.json")})"`,
				`npx failover-gateway doctor --url ${W}`,
			],
		},
		{
			where: "your machine",
			title: "Optional: notifications (each a secret; see docs/configuration.md)",
			commands: [
				"npx wrangler secret put NOTIFY_DISCORD_URL",
				"npx failover-gateway doctor --url " + `${W} --notify`,
			],
		},
		{
			where: "an uptime monitor outside Cloudflare",
			title: "Watch the watchdog: alert when this URL stops answering 200",
			commands: [`${W}/healthz`],
		},
	);
	return steps;
}

/** Plain text, numbered from 1: each step's title line, then its commands indented, then its note. */
export function renderSteps(steps: readonly Step[]): string {
	return steps
		.map((s, i) => {
			const lines = [`${i + 1}. [${s.where}] ${s.title}`, ...s.commands.map((c) => `     ${c}`)];
			if (s.note) lines.push(`     # ${s.note}`);
			return lines.join("\n");
		})
		.join("\n");
}

/** The git remote in the printed steps: init does not ask for it (the workspace's `origin` is used). */
export const REMOTE_PLACEHOLDER = "git@github.com:you/openclaw-workspace.git";

/**
 * The workspace steps for one agent (issue 10): replication pushes as the gateway's user, over ssh,
 * under the unit's sandbox, with no prompt possible. So that user needs its own key without a
 * passphrase, registered on the remote with write access, and the remote's host key in known_hosts;
 * the primary seeds the remote, the standby clones it (pushUnderSandbox then tries the push under the
 * unit's own sandbox: read-only home, so ssh can neither prompt nor write known_hosts there).
 */
export function workspaceSteps(a: Deployment["agents"][number], on: string): Step[] {
	if (a.config.replication?.enabled !== true) return [];
	const ws = a.config.workspace;
	return [
		{
			where: `${on}, as the gateway's user`,
			title: `Pair ${a.pair}: a git key without a passphrase for the workspace remote, and the remote's host key`,
			commands: [
				`test -f ~/.ssh/id_ed25519 || ssh-keygen -q -t ed25519 -N "" -C "failover-gateway ${a.pair} ${a.role}" -f ~/.ssh/id_ed25519`,
				"cat ~/.ssh/id_ed25519.pub",
				"ssh-keyscan -t ed25519 github.com >> ~/.ssh/known_hosts",
			],
			note: "github.com: your git host. Add the printed key to the remote as a deploy key WITH write access; check the scanned host key against the fingerprint your git host publishes",
		},
		a.role === "primary"
			? {
					where: `${on}, as the gateway's user`,
					title: `Pair ${a.pair}: seed the remote from the primary's workspace (once; skip if git -C ${ws} remote -v already shows it)`,
					commands: [
						`git -C ${ws} init -b main && git -C ${ws} add -A && git -C ${ws} commit -qm "workspace seed"`,
						`git -C ${ws} remote add origin ${REMOTE_PLACEHOLDER} && git -C ${ws} push -u origin main`,
					],
					note: "an empty private repository; keep secrets out of the workspace (docs/state.md says what replicates)",
				}
			: {
					where: `${on}, as the gateway's user`,
					title: `Pair ${a.pair}: the standby's workspace is a clone of the remote`,
					commands: [`git clone ${REMOTE_PLACEHOLDER} ${ws}`],
					note: "a folder already there: move it aside first (the primary's copy is the one that counts)",
				},
	];
}

/** The push tried as the agent will run it: the unit's user, read-only home, no prompt (issue 10). */
export function pushUnderSandbox(a: Deployment["agents"][number], on: string): Step | null {
	if (a.config.replication?.enabled !== true) return null;
	const ws = a.config.workspace;
	const u = a.gatewayUser;
	return {
		where: on,
		title: `Pair ${a.pair}: try a push as the agent will, under the unit's sandbox`,
		commands: [
			`sudo systemd-run --quiet --wait --pipe -p User=${u} -p ProtectHome=read-only -p ProtectSystem=strict -p ReadWritePaths=${ws} -p PrivateTmp=yes -E GIT_SSH_COMMAND="ssh -o BatchMode=yes" git -C ${ws} push --dry-run origin HEAD`,
		],
		note: '"Everything up-to-date" or a list of refs; "Host key verification failed" or "Permission denied (publickey)" means the step before',
	};
}
