// Doctor: on a standby, the primary's readiness URL answers over the tailnet with a ready body.
import type { AgentConfig } from "../config";
import { type CheckResult, fail, pass } from "./check";

// A readiness body is a few bytes; enough to see {"ready":...} in a larger detailed answer.
const MAX_BODY = 16 * 1024;

export async function checkPeer(
	config: AgentConfig,
	doFetch: typeof fetch,
): Promise<CheckResult[]> {
	if (config.role !== "standby") return [];
	const url = config.primaryReadyUrl;
	if (url === undefined) {
		return [
			fail(
				"primary readiness",
				"primaryReadyUrl is not set: this standby cannot vote on the primary, so the pair goes to suspect-partition instead of failing over",
				`sudoedit ${config.source}   # add "primaryReadyUrl": "http://<primary>.<tailnet>.ts.net:18789/readyz"`,
			),
		];
	}
	const host = URL.parse(url)?.hostname ?? url;
	const bindFix = `on the primary, as the gateway's user: openclaw config set gateway.bind tailnet && openclaw gateway restart`;
	let res: Response;
	try {
		res = await doFetch(url, {
			redirect: "manual",
			signal: AbortSignal.timeout(config.peerProbe.timeoutMs * 2),
		});
	} catch (e) {
		const err = e as Error & { cause?: { code?: string } };
		const why =
			err.name === "TimeoutError" ? "no answer in time" : (err.cause?.code ?? err.message);
		return [
			fail(
				"primary readiness",
				`${url} did not answer (${why}): the primary's gateway is probably bound to loopback, or ${host} is not reachable over the tailnet`,
				bindFix,
			),
		];
	}
	const body = (await res.text()).slice(0, MAX_BODY);
	if (res.status !== 200) {
		return [
			fail(
				"primary readiness",
				`${url} answered HTTP ${res.status}, not 200`,
				res.status === 404
					? "upgrade OpenClaw on the primary (its /readyz arrived around 2026.3)"
					: `curl -si ${url}   # from this standby; the primary's gateway must be ready`,
			),
		];
	}
	if (!/"ready"\s*:\s*true/.test(body)) {
		return [
			fail(
				"primary readiness",
				`${url} answered 200 without "ready":true (${JSON.stringify(body.slice(0, 80))}): not OpenClaw's /readyz`,
				`curl -si ${url}   # point primaryReadyUrl at the primary gateway's /readyz`,
			),
		];
	}
	return [pass("primary readiness", `${url} answers {"ready":true} over the tailnet`)];
}
