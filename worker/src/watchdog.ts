// The Watchdog Durable Object: one per watch group; its alarm ticks every due pair of the group concurrently.
import { DurableObject } from "cloudflare:workers";
import { importPublicKey } from "../../protocol";
import { type AgentClientFactory, agentClientsFor } from "./agent-client";
import { AgentSockets, type ConnectionStats } from "./agent-sockets";
import { agentTransport, groupOf, heartbeatMs, type PairConfig } from "./config";
import { type LoadedConfig, loadConfig } from "./config-cache";
import { deadline } from "./deadline";
import { doctorPair } from "./doctor-checks";
import type { PairVerdict } from "./doctor-report";
import {
	DETAIL_EVENTS,
	type GroupReadOptions,
	type GroupView,
	MAX_ROWS_PER_READ,
	observationsForTimeline,
	type PairDetailRead,
} from "./group-view";
import { NotificationHub } from "./notification-hub";
import { parseNotifyConfig } from "./notify";
import {
	MAX_COMMAND_ROUNDS,
	type OperatorReport,
	operatePair,
	type PairTurnDeps,
	raceSignal,
	tickPair,
	type WitnessSnapshot,
} from "./pair-tick";
import { detail, type PairDetail, type PairSummary, summarize } from "./pair-view";
import { nextAlarmAt, type RearmReason, rearmReason, slotFor, tickBudgetMs } from "./schedule";
import { Store, type StoredEvent } from "./store";
import { createTailscaleWitness, type TailscaleWitness, tailscaleAuthFromEnv } from "./tailscale";
import type { OperatorCommand, PairEvent, Side, StandbyView, TailscaleView } from "./types";
import { describeTailscale } from "./witness";

/** The I/O the loop uses. Tests swap it through runInDurableObject; instance fields are not RPC-visible. */
export interface WatchdogDeps {
	fetch: typeof fetch;
	agents: AgentClientFactory;
	/** The network notifications go out on (webhooks, Telegram), injectable for tests. */
	notifyFetch: typeof fetch;
	/** Wall clock for scheduling and decide(). */
	clock: () => number;
	/** The Tailscale API witness; undefined when no Tailscale credentials are set. */
	tailscale: TailscaleWitness | undefined;
}

export function defaultDeps(env: Env): WatchdogDeps {
	const auth = tailscaleAuthFromEnv(env);
	return {
		fetch: (input, init) => fetch(input, init),
		agents: agentClientsFor(env),
		notifyFetch: (input, init) => fetch(input, init),
		clock: () => Date.now(),
		// One witness per object, so its 30 s answer cache spans ticks.
		tailscale: auth
			? createTailscaleWitness({
					auth,
					...(env.TAILSCALE_API_BASE ? { baseUrl: env.TAILSCALE_API_BASE } : {}),
				})
			: undefined,
	};
}

// The backstop arms a missing alarm this far ahead: strictly after now, soon enough to start at once.
export const BACKSTOP_ALARM_DELAY_MS = 100;

export interface BackstopResult {
	group: string;
	pairs: number;
	alarmAt: number | null;
	rearmed: RearmReason | null;
}

export type OperatorResult =
	| ({ ok: true } & OperatorReport)
	| { ok: false; code: "unknown-pair" | "config-error"; message: string };

export function watchdogFor(env: Env, group: string): DurableObjectStub<Watchdog> {
	return env.WATCHDOG.get(env.WATCHDOG.idFromName(group));
}

export class Watchdog extends DurableObject<Env> {
	deps: WatchdogDeps;
	private store!: Store;
	/** The watch group this object serves; learnt from the first call (an object does not know its name). */
	private group: string | undefined;
	private readonly views = new Map<string, WitnessSnapshot>();
	private hubInstance: NotificationHub | undefined;
	/** The agents that dial out to this object (WebSocket Hibernation API). */
	readonly sockets: AgentSockets;
	private readonly agentKeys = new Map<string, Promise<CryptoKey>>();
	/** Pairs with a tick in progress (its slot, and its end): a pair never has two ticks at once. */
	private readonly running = new Map<string, { slot: number; done: Promise<void> }>();

	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, env);
		this.deps = defaultDeps(env);
		this.sockets = new AgentSockets(ctx, {
			clock: () => this.deps.clock(),
			publicKey: (pair, side) => this.agentKey(pair, side),
			heartbeatMs: (pair) => {
				const p = loadConfig(this.env.WATCHDOG_CONFIG, this.env.LOCAL_DEVELOPMENT).pairs.get(pair);
				return p ? heartbeatMs(p) : 2_500;
			},
			log: (m) => console.log(m),
		});
		void ctx.blockConcurrencyWhile(async () => {
			this.store = new Store(ctx.storage.sql);
			this.group = this.store.getMeta("group");
		});
	}

	/** Cron backstop: records a heartbeat and re-arms the alarm when it is missing, stale or too far out. */
	async ensureAlarm(group: string, now: number): Promise<BackstopResult> {
		this.learnGroup(group);
		// One row a minute (see the budget note in store.ts).
		this.store.setMeta("heartbeat", String(now));
		const pairs = this.watchedPairs(
			loadConfig(this.env.WATCHDOG_CONFIG, this.env.LOCAL_DEVELOPMENT),
			group,
		);
		const alarm = await this.ctx.storage.getAlarm();
		if (pairs.length === 0) return { group, pairs: 0, alarmAt: alarm, rearmed: null };
		const shortest = Math.min(...pairs.map((p) => p.probeIntervalSeconds * 1000));
		const reason = rearmReason(alarm, shortest, now);
		if (reason === null) return { group, pairs: pairs.length, alarmAt: alarm, rearmed: null };
		const at = now + BACKSTOP_ALARM_DELAY_MS;
		await this.ctx.storage.setAlarm(at);
		// A missing alarm is normal on first deploy; a stale one means the loop had stopped.
		const log = reason === "missing" ? console.log : console.warn;
		log(`watchdog ${group}: alarm ${reason} (was ${alarm}); re-armed for ${at}`);
		return { group, pairs: pairs.length, alarmAt: at, rearmed: reason };
	}

	async getPairs(group: string): Promise<PairSummary[]> {
		this.learnGroup(group);
		const config = loadConfig(this.env.WATCHDOG_CONFIG, this.env.LOCAL_DEVELOPMENT);
		return (config.groups.get(group) ?? []).map((n) => summarize(this.store, config, group, n));
	}

	async getPair(name: string, observations = 20): Promise<PairDetail | null> {
		const config = loadConfig(this.env.WATCHDOG_CONFIG, this.env.LOCAL_DEVELOPMENT);
		const group = this.groupFor(config, name);
		if (group === undefined) return null;
		return this.detailOf(config, group, name, observations, await this.ctx.storage.getAlarm());
	}

	/**
	 * Everything a page or summary needs of this group in one call (one billed request): the summaries,
	 * and with `detail` each pair's detail, timeline and newest events. Reads at most MAX_ROWS_PER_READ
	 * rows; rows read before are served from memory, so a refresh reads only what is new.
	 */
	async readGroup(group: string, opts: GroupReadOptions): Promise<GroupView> {
		this.learnGroup(group);
		const config = loadConfig(this.env.WATCHDOG_CONFIG, this.env.LOCAL_DEVELOPMENT);
		const nextAlarmAt = opts.detail ? await this.ctx.storage.getAlarm() : null;
		const before = this.store.rowsRead;
		// Synchronous from here on: nothing else runs in this object while the budget is set.
		const { value, truncated } = this.store.withReadBudget(MAX_ROWS_PER_READ, () => {
			const names = config.groups.get(group) ?? [];
			// Newest first is what the cap keeps, so summaries (one row each) are read before history.
			const pairs = names.map((n) => summarize(this.store, config, group, n));
			if (!opts.detail) return { pairs };
			const details: Record<string, PairDetailRead> = {};
			for (const n of names) {
				const own = this.groupFor(config, n) !== undefined;
				const observations = observationsForTimeline(config.pairs.get(n)?.probeIntervalSeconds);
				details[n] = {
					pair: own ? this.detailOf(config, group, n, observations, nextAlarmAt) : null,
					events: own ? this.store.events(n, DETAIL_EVENTS) : [],
					cursors: this.store.cursors(n),
				};
			}
			return { pairs, details };
		});
		return { ...value, rowsRead: this.store.rowsRead - before, truncated };
	}

	private detailOf(
		config: LoadedConfig,
		group: string,
		name: string,
		observations: number,
		nextAlarmAt: number | null,
	): PairDetail {
		const pair = config.pairs.get(name);
		const views = this.views.get(name);
		return detail(summarize(this.store, config, group, name), this.store, pair, {
			observations,
			standby: views?.standby,
			primaryAgent: views?.primaryAgent,
			nextAlarmAt,
			...(pair ? { connections: this.dialOutConnections(pair) } : {}),
			notifications: this.hub().status(),
			tailscaleSummary: !pair?.witnesses.tailscale
				? "not a witness for this pair"
				: views?.tailscale === undefined
					? "not polled yet"
					: describeTailscale(views.tailscale),
		});
	}

	async getEvents(name: string, limit: number): Promise<StoredEvent[] | null> {
		const config = loadConfig(this.env.WATCHDOG_CONFIG, this.env.LOCAL_DEVELOPMENT);
		if (this.groupFor(config, name) === undefined) return null;
		return this.store.events(name, limit);
	}

	/** pause / resume / promote / demote / failback, through decide(); commands it returns are sent now. */
	async operator(name: string, command: OperatorCommand): Promise<OperatorResult> {
		const config = loadConfig(this.env.WATCHDOG_CONFIG, this.env.LOCAL_DEVELOPMENT);
		if (this.groupFor(config, name) === undefined) {
			return { ok: false, code: "unknown-pair", message: `no pair named "${name}"` };
		}
		const pair = config.pairs.get(name);
		if (!pair) {
			return {
				ok: false,
				code: "config-error",
				message: `pair "${name}" has config errors and is not watched; fix them first (see /healthz)`,
			};
		}
		// Each round sends one command with its own timeout; the whole call ends when they could all have.
		const dl = deadline(MAX_COMMAND_ROUNDS * pair.commandTimeoutMs);
		try {
			const report = await operatePair(this.turnDeps(pair), command, dl.signal);
			return { ok: true, ...report };
		} finally {
			dl.clear();
		}
	}

	/** Only the dial-out upgrade reaches the object by fetch (a WebSocket cannot be passed over RPC). */
	override async fetch(request: Request): Promise<Response> {
		const url = new URL(request.url);
		const pair = url.searchParams.get("pair") ?? "";
		const side = url.searchParams.get("side");
		const config = loadConfig(this.env.WATCHDOG_CONFIG, this.env.LOCAL_DEVELOPMENT);
		const pc = config.pairs.get(pair);
		if (
			request.headers.get("upgrade")?.toLowerCase() !== "websocket" ||
			(side !== "primary" && side !== "standby") ||
			!pc ||
			this.groupFor(config, pair) === undefined ||
			agentTransport(pc, side).kind !== "dial-out"
		) {
			// The Worker's route checked all this; a mismatch means the config changed in between.
			return new Response("not a dial-out agent of this group", { status: 404 });
		}
		return this.sockets.accept(pair, side);
	}

	override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
		await this.sockets.onMessage(ws, message);
	}

	override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
		this.sockets.onClose(ws, code, reason);
	}

	override async webSocketError(ws: WebSocket, error: unknown): Promise<void> {
		this.sockets.onClose(
			ws,
			1006,
			`error: ${error instanceof Error ? error.message : String(error)}`,
		);
	}

	/** The connection facts of the sides of `pair` that dial out (none for endpoint sides). */
	private dialOutConnections(pair: PairConfig): Partial<Record<Side, ConnectionStats>> {
		const out: Partial<Record<Side, ConnectionStats>> = {};
		for (const side of ["primary", "standby"] as const) {
			if (agentTransport(pair, side).kind === "dial-out")
				out[side] = this.sockets.connection(pair.name, side);
		}
		return out;
	}

	/** Connection facts of both sides' dial-out sockets (status API, tests). */
	async connections(pair: string): Promise<Record<Side, ConnectionStats>> {
		return {
			primary: this.sockets.connection(pair, "primary"),
			standby: this.sockets.connection(pair, "standby"),
		};
	}

	/** The configured public key of a dial-out agent, imported once per key text. */
	private async agentKey(pair: string, side: Side): Promise<CryptoKey | string> {
		const pc = loadConfig(this.env.WATCHDOG_CONFIG, this.env.LOCAL_DEVELOPMENT).pairs.get(pair);
		const t = pc ? agentTransport(pc, side) : undefined;
		if (t?.kind !== "dial-out") return `pair "${pair}" has no dial-out ${side} agent configured`;
		let key = this.agentKeys.get(t.publicKey);
		if (!key) {
			key = importPublicKey(t.publicKey);
			this.agentKeys.set(t.publicKey, key);
		}
		try {
			return await key;
		} catch (e) {
			return `the ${side} agentPublicKey does not import: ${(e as Error).message}`;
		}
	}

	/** GET /api/v1/doctor: each pair of the group (or only `pair`) checked as a failover would use it. */
	async doctor(group: string, pair?: string): Promise<PairVerdict[]> {
		this.learnGroup(group);
		const config = loadConfig(this.env.WATCHDOG_CONFIG, this.env.LOCAL_DEVELOPMENT);
		const names = (config.groups.get(group) ?? []).filter((n) => pair === undefined || n === pair);
		const ts = this.deps.tailscale;
		return Promise.all(
			names.map((n) =>
				doctorPair(n, config, {
					fetch: this.deps.fetch,
					clock: this.deps.clock,
					// The same signed client the loop uses (status reads are side-effect free): each side's read is
					// signed for that side's audience and verified with that side's agentPublicKey.
					readStatus: async (p, side, signal) => this.deps.agents(p).readStatus?.(side, signal),
					agentFor: (p) => this.deps.agents(p, this.sockets),
					connection: (p, side) => this.sockets.connection(p.name, side),
					...(ts ? { tailscale: (id, t, signal) => this.tailscaleView(id, t, signal) } : {}),
				}),
			),
		);
	}

	override async alarm(): Promise<void> {
		const group = this.group;
		if (group === undefined) {
			console.error("watchdog alarm fired before its group was known; the cron backstop sets it");
			return;
		}
		const config = loadConfig(this.env.WATCHDOG_CONFIG, this.env.LOCAL_DEVELOPMENT);
		this.store.setMeta("config_hash", config.hash);
		const pairs = this.watchedPairs(config, group);
		if (pairs.length === 0) {
			console.warn(
				`watchdog ${group}: no valid pairs to watch; the loop stops until one is configured`,
			);
			// Alerts already waiting still get this one try; the next alarm comes from the cron backstop.
			this.hub().drain();
			return;
		}
		this.sockets.sweep();
		const now = this.deps.clock();
		const plan = pairs.map((pair) => {
			const interval = pair.probeIntervalSeconds * 1000;
			// Still ticking from an earlier alarm: its recorded last tick is not this one yet, so it would look due.
			const busy = this.running.get(pair.name);
			if (busy !== undefined) return { pair, slot: null, nextDue: busy.slot + interval };
			const last = this.store.lastTickAt(pair.name);
			const slot = slotFor(last, interval, now);
			const nextDue = slot === null ? (last ?? now) + interval : slot + interval;
			return { pair, slot, nextDue };
		});
		const wake = nextAlarmAt(
			plan.map((p) => p.nextDue),
			now,
		) as number;
		// Armed before ticking, so a tick that crashes or is evicted mid-way still leaves the loop running.
		await this.ctx.storage.setAlarm(wake);
		const held: Promise<void>[] = [];
		for (const { pair, slot, nextDue } of plan) {
			if (slot === null) continue;
			// Each pair's deadline is its own next tick, so its configured timeouts hold whatever the
			// intervals of the other pairs: a group's next alarm can be any time away (pairs of different
			// intervals, or grids offset by an interval change), and a budget cut to it squeezed probes,
			// status reads and commands down to 50 ms.
			const done = this.tick(pair, slot, tickBudgetMs(nextDue, now)).finally(() =>
				this.running.delete(pair.name),
			);
			this.running.set(pair.name, { slot, done });
			// A tick that may outlast the next alarm runs on in the background: it must not hold that alarm up.
			if (nextDue <= wake) held.push(done);
			else this.ctx.waitUntil(done);
		}
		await Promise.all(held);
		// Notifications that failed earlier are retried only now, in the background: the ticks' probes
		// and agent commands never share the alarm's connections with them or wait for them.
		this.hub().drain();
	}

	/** The notifier hook: every event decide() produced passes here after it is stored; sending never blocks. */
	protected notify(pair: string, events: readonly PairEvent[]): void {
		this.hub().dispatch(pair, events);
	}

	/** Built on first use, so tests that swap `deps` get a hub over their fetch and clock. */
	private hub(): NotificationHub {
		this.hubInstance ??= new NotificationHub({
			config: parseNotifyConfig(this.env),
			store: this.store,
			fetch: this.deps.notifyFetch,
			clock: this.deps.clock,
			waitUntil: (p) => this.ctx.waitUntil(p),
			...(this.env.PUBLIC_URL ? { dashboardUrl: this.env.PUBLIC_URL } : {}),
		});
		return this.hubInstance;
	}

	private async tick(pair: PairConfig, slot: number, budgetMs: number): Promise<void> {
		const dl = deadline(budgetMs);
		try {
			await tickPair(this.turnDeps(pair), slot, dl.signal, budgetMs);
			// Liveness for dial-out agents (outgoing messages are not billed).
			this.sockets.tick(pair.name);
		} catch (e) {
			// Expected failures are values; reaching here is a bug. The other pairs still tick.
			console.error(`watchdog ${pair.name}: tick failed`, e);
		} finally {
			dl.clear();
		}
	}

	private turnDeps(pair: PairConfig): PairTurnDeps {
		const deps: PairTurnDeps = {
			store: this.store,
			pair,
			agent: this.deps.agents(pair, this.sockets),
			fetch: this.deps.fetch,
			clock: this.deps.clock,
			perfNow: () => performance.now(),
			notify: (name, events) => this.notify(name, events),
			onWitnesses: (name, views) => this.views.set(name, views),
		};
		const ts = pair.witnesses.tailscale;
		if (ts) deps.tailscale = (signal) => this.tailscaleView(ts.deviceId, ts.timeoutMs, signal);
		return deps;
	}

	/** A configured Tailscale witness that cannot answer votes "unknown" (an error view), never "down". */
	private async tailscaleView(
		deviceId: string,
		timeoutMs: number,
		signal: AbortSignal,
	): Promise<TailscaleView> {
		const witness = this.deps.tailscale;
		if (!witness) {
			return {
				error:
					"no Tailscale API credentials: npx wrangler secret put TAILSCALE_API_KEY (or TAILSCALE_OAUTH_CLIENT_ID and TAILSCALE_OAUTH_CLIENT_SECRET)",
			};
		}
		try {
			return await raceSignal(witness.view(deviceId, timeoutMs), signal, () => ({
				error: "no answer before the tick's deadline",
			}));
		} catch (e) {
			console.error("tailscale witness threw (a bug: failures must be values)", e);
			return { error: "Tailscale witness error" };
		}
	}

	private watchedPairs(config: LoadedConfig, group: string): PairConfig[] {
		const out: PairConfig[] = [];
		for (const name of config.groups.get(group) ?? []) {
			const p = config.pairs.get(name);
			if (p) out.push(p);
		}
		return out;
	}

	/** The group of a pair by config, if this object serves it (learning its group on first use). */
	private groupFor(config: LoadedConfig, name: string): string | undefined {
		const group = groupOf(config, name);
		if (group === undefined) return undefined;
		this.learnGroup(group);
		return group === this.group ? group : undefined;
	}

	private learnGroup(group: string): void {
		if (this.group === group) return;
		if (this.group !== undefined) {
			// Callers route by idFromName(group), so this only happens across a config change racing a
			// request; the object keeps the group it was first addressed as.
			console.warn(`watchdog ${this.group}: asked about group ${group}; ignoring`);
			return;
		}
		this.group = group;
		this.store.setMeta("group", group);
	}
}
