// This VPS's own gateway: reads its readiness URL as a loopback caller and its systemd unit on a timer, classifies, caches.

import type { LocalGateway, LocalGatewayState } from "../../protocol";
import { httpGet, type ReadyFetch, readyBodyText } from "./http-get";
import type { Logger } from "./log";
import { type CommandRunner, createCommandRunner } from "./steps/run-command";
import type { GatewayUnit } from "./steps/types";
import { monotonicNowUs, readUnit, type UnitRead } from "./unit-state";

/**
 * Readiness checks that fail only while a gateway is on its way up: OpenClaw names `startup-sidecars`
 * until its start-up dependencies finish (about 2.5 s on 2026.9.6, after about 9.5 s of refused
 * connections). They count as "starting" only within the start window.
 */
export const START_UP_CHECKS: ReadonlySet<string> = new Set(["startup-sidecars"]);
/**
 * `gateway-draining`: the old run drains before a restart (in-process, or a stop ahead of a start). The
 * gateway's uptime is the old run's, so no window applies; the watchdog's own cap bounds the wait.
 */
export const RESTART_CHECKS: ReadonlySet<string> = new Set(["gateway-draining"]);

/** `systemctl show` answers in milliseconds; a D-Bus this slow is stuck, and the next check retries. */
export const UNIT_READ_TIMEOUT_MS = 2_000;
/** A killed systemctl has nothing to clean up: no need for the steps' 5 s grace. */
const UNIT_KILL_GRACE_MS = 200;
/**
 * While the gateway answers 200 the unit is only read for its uptime, so once a minute is enough; when
 * it does not answer 200 the unit is read on every check (that is when "starting" must be told apart).
 */
export const UNIT_REFRESH_MS = 60_000;
/** A readiness body is a few hundred bytes (a few KB with many channels); more is not OpenClaw's. */
export const MAX_READY_BODY_BYTES = 16 * 1024;

/** What the readiness URL did. `failing` is null when the body carried no list of failing checks. */
export type ReadinessAnswer =
	| {
			kind: "answered";
			status: number;
			failing: string[] | null;
			/** The gateway's own uptime from its body, ms. */
			uptimeMs?: number;
	  }
	| { kind: "refused"; detail: string }
	| { kind: "timeout"; timeoutMs: number };

/**
 * GET `url` without forwarding headers, as OpenClaw's loopback caller, so a not-ready answer carries
 * `{"ready":false,"failing":[...],"uptimeMs":...}`. Redirects are not followed. Never throws.
 */
export async function readReadiness(
	url: string,
	opts: { timeoutMs: number; fetch?: ReadyFetch; signal?: AbortSignal },
): Promise<ReadinessAnswer> {
	const doFetch = opts.fetch ?? httpGet;
	const deadline = AbortSignal.timeout(opts.timeoutMs);
	const signal = opts.signal ? AbortSignal.any([opts.signal, deadline]) : deadline;
	try {
		const res = await doFetch(url, {
			signal,
			redirect: "manual",
			headers: { accept: "application/json", "user-agent": "failover-agent" },
		});
		const text = await readyBodyText(res);
		const body = parseBody(text);
		return {
			kind: "answered",
			status: res.status,
			failing: body.failing,
			...(body.uptimeMs !== undefined ? { uptimeMs: body.uptimeMs } : {}),
		};
	} catch (error) {
		if (deadline.aborted || (error as Error).name === "TimeoutError") {
			return { kind: "timeout", timeoutMs: opts.timeoutMs };
		}
		const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
		const detail =
			typeof cause?.code === "string"
				? cause.code
				: typeof cause?.message === "string"
					? cause.message
					: (error as Error).message;
		return { kind: "refused", detail: String(detail).slice(0, 80) };
	}
}

function parseBody(text: string): { failing: string[] | null; uptimeMs?: number } {
	let json: unknown;
	try {
		json = JSON.parse(text);
	} catch {
		return { failing: null };
	}
	if (json === null || typeof json !== "object") return { failing: null };
	const { failing, uptimeMs } = json as { failing?: unknown; uptimeMs?: unknown };
	const list = Array.isArray(failing)
		? failing
				.filter((f): f is string => typeof f === "string")
				.slice(0, 32)
				.map((f) => f.slice(0, 64))
		: null;
	const up =
		typeof uptimeMs === "number" && Number.isFinite(uptimeMs) && uptimeMs >= 0
			? Math.round(uptimeMs)
			: undefined;
	return { failing: list, ...(up !== undefined ? { uptimeMs: up } : {}) };
}

/** What the unit says about this run, for classify(). `uptimeMs` only while the unit is up. */
export type UnitEvidence =
	| { known: false; reason: string }
	| { known: true; activeState: string; subState: string; uptimeMs?: number };

export function unitEvidence(read: UnitRead, monoNowUs: number): UnitEvidence {
	if (!read.ok) return { known: false, reason: read.reason };
	const { activeState, subState, startedMonoUs } = read.unit;
	const up = ["active", "activating", "reloading"].includes(activeState);
	const uptimeMs =
		up && startedMonoUs !== undefined && monoNowUs >= startedMonoUs
			? Math.floor((monoNowUs - startedMonoUs) / 1000)
			: undefined;
	return { known: true, activeState, subState, ...(uptimeMs !== undefined ? { uptimeMs } : {}) };
}

export type Classified = Omit<LocalGateway, "checkedAt">;

/**
 * The table that turns a readiness answer and the unit's state into ready / starting / not-ready /
 * stopped. "starting" needs evidence of a start in progress: the unit activating, or a run younger
 * than `startWindowMs` (by the unit, else by the gateway's own uptime) whose port still refuses or
 * whose only failing checks are start-up checks. A start older than the window is not "starting"
 * any more: the gateway is broken (not-ready) or not listening (stopped). Nor is a run that already
 * answered ready (`readyThisRun`): its youth proves no start in progress, so a refusal, silence or a
 * start-up check failing afterwards is a crash or a hang (only the unit activating again, or the
 * draining checks of a restart the gateway runs itself, still read as "starting").
 */
export function classify(
	answer: ReadinessAnswer,
	unit: UnitEvidence | undefined,
	startWindowMs: number,
	opts: { readyThisRun?: boolean } = {},
): Classified {
	const activating = unit?.known === true && unit.activeState === "activating";
	const readyThisRun = opts.readyThisRun === true;
	const unitUp = unit?.known === true ? unit.uptimeMs : undefined;
	const bodyUp = answer.kind === "answered" ? answer.uptimeMs : undefined;
	const uptimeMs = unitUp ?? bodyUp;
	// Known young, known old, or unknown (no unit and no uptime in the body).
	const age: "young" | "old" | "unknown" =
		uptimeMs === undefined ? "unknown" : uptimeMs < startWindowMs ? "young" : "old";
	const since =
		(uptimeMs === undefined ? "" : `, up ${seconds(uptimeMs)}`) +
		(readyThisRun && !activating ? ", ready earlier in this run" : "");
	const unitText = describeUnit(unit);
	const out = (
		state: LocalGatewayState,
		detail: string,
		failing: string[] = [],
		status?: number,
	): Classified => ({
		state,
		failing,
		...(uptimeMs !== undefined ? { uptimeMs } : {}),
		...(status !== undefined ? { status } : {}),
		detail: detail.slice(0, 256),
	});

	switch (answer.kind) {
		case "answered": {
			const { status, failing } = answer;
			const http = `HTTP ${status}`;
			if (status === 200) return out("ready", `${http} ready${since}`, [], status);
			if (failing === null || failing.length === 0) {
				if (activating) return out("starting", `${http} while ${unitText}`, [], status);
				return out(
					"not-ready",
					`${http} without failing checks (is localReadyUrl the gateway's loopback address?)${since}`,
					[],
					status,
				);
			}
			const list = failing.join(", ");
			const startUpOnly = failing.every((f) => START_UP_CHECKS.has(f) || RESTART_CHECKS.has(f));
			const drainingOnly = failing.every((f) => RESTART_CHECKS.has(f));
			if (startUpOnly && (activating || drainingOnly || (age !== "old" && !readyThisRun))) {
				return out("starting", `${http}, starting: ${list}${since}`, failing, status);
			}
			if (startUpOnly && readyThisRun) {
				return out("not-ready", `${http}, failing: ${list}${since}`, failing, status);
			}
			if (startUpOnly) {
				return out(
					"not-ready",
					`${http}, still ${list} after ${seconds(uptimeMs ?? 0)} (longer than a start)`,
					failing,
					status,
				);
			}
			return out("not-ready", `${http}, failing: ${list}${since}`, failing, status);
		}
		case "refused":
		case "timeout": {
			const what =
				answer.kind === "refused"
					? `connection refused (${answer.detail})`
					: `no answer within ${answer.timeoutMs} ms`;
			if (activating) return out("starting", `${what}; ${unitText}`);
			if (unit === undefined || !unit.known) {
				const why = unit === undefined ? "not read" : unit.reason;
				return out(answer.kind === "refused" ? "stopped" : "not-ready", `${what}; unit: ${why}`);
			}
			if (["inactive", "failed", "deactivating"].includes(unit.activeState)) {
				return out("stopped", `${what}; ${unitText}`);
			}
			if (age === "young" && !readyThisRun) return out("starting", `${what}; ${unitText}${since}`);
			return out(
				answer.kind === "refused" ? "stopped" : "not-ready",
				`${what}; ${unitText}${since}`,
			);
		}
		default:
			return answer satisfies never;
	}
}

function describeUnit(unit: UnitEvidence | undefined): string {
	if (unit === undefined) return "unit not read";
	if (!unit.known) return `unit: ${unit.reason}`;
	return `unit ${unit.activeState}${unit.subState ? ` (${unit.subState})` : ""}`;
}

function seconds(ms: number): string {
	return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}

export interface LocalGatewayOptions {
	url: string;
	unit: GatewayUnit;
	/** Between the end of one check and the start of the next, ms. */
	intervalMs: number;
	/** Deadline of the readiness request, ms. */
	timeoutMs: number;
	/** How long after its unit started a gateway may still be "starting", ms. */
	startWindowMs: number;
	/** Wall clock (ms since epoch) for `checkedAt`. */
	now: () => number;
	/** CLOCK_MONOTONIC µs (systemd's clock for unit timestamps); injectable for tests. */
	monoNowUs?: () => number;
	fetch?: ReadyFetch;
	/** Runs systemctl; tests inject a fake. */
	runCommand?: CommandRunner;
	log: Logger;
}

/** Checks on its own timer, so a status request only reads the cached report and never waits on it. */
export class LocalGatewayMonitor {
	readonly #o: LocalGatewayOptions;
	readonly #run: CommandRunner;
	#last: LocalGateway | null = null;
	#unit: { read: UnitRead; atMonoUs: number } | null = null;
	/** The unit run (its start, CLOCK_MONOTONIC µs) in which the gateway last answered ready. */
	#readyRun: number | null = null;
	#timer: ReturnType<typeof setTimeout> | null = null;
	#stopped = true;
	#inflight: AbortController | null = null;

	constructor(options: LocalGatewayOptions) {
		this.#o = options;
		this.#run = options.runCommand ?? createCommandRunner({ killGraceMs: UNIT_KILL_GRACE_MS });
	}

	/** Checks now, then `intervalMs` after each check ends (checks never overlap). */
	start(): void {
		if (!this.#stopped) return;
		this.#stopped = false;
		void this.#loop();
	}

	stop(): void {
		this.#stopped = true;
		if (this.#timer !== null) clearTimeout(this.#timer);
		this.#timer = null;
		this.#inflight?.abort();
	}

	/** The latest report; null until the first check has finished. */
	snapshot(): LocalGateway | null {
		return this.#last;
	}

	/** One check (readiness, then the unit when needed), cached. Exposed for tests. Never throws. */
	async checkOnce(): Promise<LocalGateway> {
		const o = this.#o;
		const mono = o.monoNowUs ?? monotonicNowUs;
		const abort = new AbortController();
		this.#inflight = abort;
		try {
			const answer = await readReadiness(o.url, {
				timeoutMs: o.timeoutMs,
				signal: abort.signal,
				...(o.fetch ? { fetch: o.fetch } : {}),
			});
			const ready = answer.kind === "answered" && answer.status === 200;
			const cached = this.#unit;
			const fresh = cached !== null && mono() - cached.atMonoUs < UNIT_REFRESH_MS * 1000;
			if (!ready || !fresh) {
				const read = await readUnit(o.unit, this.#run, UNIT_READ_TIMEOUT_MS, abort.signal);
				this.#unit = { read, atMonoUs: mono() };
			}
			const unit = this.#unit ? unitEvidence(this.#unit.read, mono()) : undefined;
			// Which run of the unit this is: a run that was ready once is no longer starting.
			const run = this.#unit?.read.ok ? this.#unit.read.unit.startedMonoUs : undefined;
			const readyThisRun = run !== undefined && run === this.#readyRun;
			if (ready && run !== undefined) this.#readyRun = run;
			const report: LocalGateway = {
				...classify(answer, unit, o.startWindowMs, { readyThisRun }),
				checkedAt: o.now(),
			};
			this.#logChange(report);
			this.#last = report;
			return report;
		} finally {
			if (this.#inflight === abort) this.#inflight = null;
		}
	}

	#logChange(next: LocalGateway): void {
		const previous = this.#last;
		// Changes only: a check every 2 s would flood the journal.
		if (previous !== null && previous.state === next.state) return;
		const fields = { state: next.state, detail: next.detail, url: this.#o.url };
		if (next.state === "ready" || next.state === "starting")
			this.#o.log.info("local gateway", fields);
		else this.#o.log.warn("local gateway", fields);
	}

	async #loop(): Promise<void> {
		if (this.#stopped) return;
		await this.checkOnce();
		if (this.#stopped) return;
		this.#timer = setTimeout(() => void this.#loop(), this.#o.intervalMs);
		// The monitor alone must not keep the process alive (the HTTP server does).
		this.#timer.unref?.();
	}
}
