// The dead-man's switch: one GET to HEARTBEAT_URL per cron run, so an outside service notices when the pings stop.

/**
 * One ping never waits longer than this. Healthchecks-style services answer in well under a second;
 * the cron run should end quickly, and a missed ping is harmless: the next run (one minute later) is
 * the retry, and such services wait a grace period before alerting.
 */
export const HEARTBEAT_TIMEOUT_MS = 5_000;

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

export type HeartbeatTarget =
	| { kind: "off" }
	| { kind: "url"; url: string; shown: string }
	| { kind: "invalid"; problem: string };

/**
 * Reads HEARTBEAT_URL (optional). Same rule as the notifier URLs: https, plain http only for
 * loopback (tests, a local receiver), no credentials. The URL is a secret (Healthchecks puts the
 * check's UUID in the path), so `shown` and `problem` carry only the scheme and host.
 */
export function heartbeatTarget(value: string | undefined): HeartbeatTarget {
	if (value === undefined || value.trim() === "") return { kind: "off" };
	const url = URL.parse(value.trim());
	if (url === null) {
		return {
			kind: "invalid",
			problem: "HEARTBEAT_URL: expected an https URL; the value is not a URL",
		};
	}
	const shown = `${url.protocol}//${url.host}/...`;
	const loopback = LOOPBACK_HOSTS.has(url.hostname);
	if (url.protocol !== "https:" && !(url.protocol === "http:" && loopback)) {
		return {
			kind: "invalid",
			problem: `HEARTBEAT_URL (${url.protocol}//${url.host}): expected an https URL (plain http only for 127.0.0.1 or localhost)`,
		};
	}
	if (url.username !== "" || url.password !== "") {
		return {
			kind: "invalid",
			problem: `HEARTBEAT_URL (${shown}): expected no user:password in the URL`,
		};
	}
	return { kind: "url", url: url.href, shown };
}

export type HeartbeatResult =
	| { kind: "off" }
	| { kind: "skipped"; reason: string }
	| { kind: "sent"; status: number; ms: number }
	| { kind: "failed"; reason: string; ms: number };

export interface HeartbeatOptions {
	/** Skip the ping with this reason (the watchdog is not doing its job, so it must not say it is alive). */
	skip?: string;
	fetch?: typeof fetch;
	now?: () => number;
	log?: Pick<Console, "error" | "warn">;
}

/**
 * Pings `value` (env.HEARTBEAT_URL) once: GET, {@link HEARTBEAT_TIMEOUT_MS}, no retry, redirects not
 * followed (a redirect answer counts as failed). Never throws: failures are logged (scheme and host
 * only, never the path) and returned as values.
 */
export async function pingHeartbeat(
	value: string | undefined,
	options: HeartbeatOptions = {},
): Promise<HeartbeatResult> {
	const log = options.log ?? console;
	const target = heartbeatTarget(value);
	if (target.kind === "off") return { kind: "off" };
	if (target.kind === "invalid") {
		log.error(`heartbeat not sent: ${target.problem}`);
		return { kind: "failed", reason: target.problem, ms: 0 };
	}
	if (options.skip !== undefined) {
		log.warn(`heartbeat to ${target.shown} skipped: ${options.skip}`);
		return { kind: "skipped", reason: options.skip };
	}
	const now = options.now ?? Date.now;
	const doFetch = options.fetch ?? fetch;
	const started = now();
	const ctrl = new AbortController();
	// A cleared timer rather than AbortSignal.timeout, whose pending timer would outlive the cron run.
	const timer = setTimeout(
		() => ctrl.abort(new DOMException(`${HEARTBEAT_TIMEOUT_MS} ms`, "TimeoutError")),
		HEARTBEAT_TIMEOUT_MS,
	);
	try {
		const res = await doFetch(target.url, {
			method: "GET",
			redirect: "manual",
			signal: ctrl.signal,
			headers: { "user-agent": "failover-gateway-watchdog" },
		});
		await res.body?.cancel().catch(() => undefined);
		const ms = now() - started;
		if (res.status >= 200 && res.status < 300) return { kind: "sent", status: res.status, ms };
		const reason = `HTTP ${res.status}`;
		log.error(`heartbeat to ${target.shown} failed: ${reason}`);
		return { kind: "failed", reason, ms };
	} catch (error) {
		const ms = now() - started;
		const reason = ctrl.signal.aborted
			? `no answer within ${HEARTBEAT_TIMEOUT_MS} ms`
			: `request error: ${describe(error, target)}`;
		log.error(`heartbeat to ${target.shown} failed: ${reason}`);
		return { kind: "failed", reason, ms };
	} finally {
		clearTimeout(timer);
	}
}

/** The error's message with the URL cut down to scheme and host (fetch errors may quote it). */
function describe(error: unknown, target: { url: string; shown: string }): string {
	const message = error instanceof Error ? error.message : String(error);
	const path = new URL(target.url).pathname;
	let out = message.replaceAll(target.url, target.shown);
	if (path.length > 1) out = out.replaceAll(path, "/...");
	return out;
}
