// SQLite persistence for one watch group: pair state, bounded observation and event rings, and meta values.
import { initialState } from "./decide";
import { OutboxTable } from "./outbox-store";
import { replicationMaterial } from "./replication-events";
import type {
	PairEvent,
	PairState,
	PrimaryLeaseMemo,
	ProbeFailure,
	ProbeResult,
	StateName,
} from "./types";
import { STATE_NAMES } from "./types";

/** The part of the Durable Object SQL API used here (the tick benchmark adapts node:sqlite to it). */
export interface SqlCursorLike {
	toArray(): Record<string, unknown>[];
	readonly rowsWritten: number;
	/** Rows SQLite read for the statement, as billed (workerd has it; the benchmark's adapter may not). */
	readonly rowsRead?: number;
}
export interface SqlLike {
	exec(query: string, ...bindings: (string | number | null)[]): SqlCursorLike;
}

/*
 * Write budget. The Workers Free plan allows 100,000 SQLite rows written a day, and `rows_written`
 * counts every b-tree a statement touches: a rowid table plus one index costs 2 per insert. So the
 * per-tick tables are WITHOUT ROWID tables whose primary key is the only b-tree, and history is a ring
 * (upsert into slot seq % size) that never deletes, so there is no pruning cost either.
 * Three pairs at 5 s, per day:
 *   observations  3 x 17,280 ticks x 1 row   = 51,840
 *   setAlarm      17,280 alarm runs (assumed to bill like a row written) = 17,280
 *   heartbeat     1,440 cron minutes x 1 row =  1,440
 *   pair_state and events: on transitions only (tens), and when the lease length changes (a redeploy)
 *   total about 70,600 < 100,000. The state row is not rewritten when only the probe counters (or the
 *   time of the primary's last lease) moved: those ride in that tick's observation row (column
 *   `state`), which is written anyway.
 *   notify_outbox (outbox-store.ts): nothing while deliveries succeed; at worst (64 messages waiting
 *   all day for a dead endpoint) about 3,800 (see docs/cost.md).
 */
export const OBSERVATION_RING = 2000;
export const EVENT_RING = 1000;
/** A read extends the rows held in memory by up to this many more rows than it asked for (see recent). */
const EXTEND_ROWS = 64;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS pair_state (
	pair TEXT PRIMARY KEY,
	state TEXT NOT NULL,
	obs_seq INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS observations (
	pair TEXT NOT NULL,
	slot INTEGER NOT NULL,
	seq INTEGER NOT NULL,
	at INTEGER NOT NULL,
	ok INTEGER NOT NULL,
	status INTEGER,
	ms INTEGER NOT NULL,
	reason TEXT,
	detail TEXT,
	standby TEXT,
	state_name TEXT NOT NULL,
	term INTEGER NOT NULL,
	state TEXT,
	PRIMARY KEY (pair, slot)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
	pair TEXT NOT NULL,
	slot INTEGER NOT NULL,
	seq INTEGER NOT NULL,
	at INTEGER NOT NULL,
	kind TEXT NOT NULL,
	severity TEXT NOT NULL,
	from_state TEXT NOT NULL,
	to_state TEXT NOT NULL,
	term INTEGER NOT NULL,
	summary TEXT NOT NULL,
	evidence TEXT NOT NULL,
	next TEXT NOT NULL,
	notify INTEGER NOT NULL,
	PRIMARY KEY (pair, slot)
) WITHOUT ROWID;
`;

export interface ObservationInput {
	/** The tick's scheduled time (ms since epoch); also what the next tick is scheduled from. */
	at: number;
	probe: ProbeResult;
	/** One line on the standby's view; null when the standby was not asked. */
	standby: string | null;
}

export interface ObservationRow {
	seq: number;
	at: number;
	ok: boolean;
	status: number | null;
	ms: number;
	reason: ProbeFailure | null;
	detail: string | null;
	standby: string | null;
	/** The pair's state right after this tick's decision. */
	state: StateName;
	term: number;
}

export type StoredEvent = PairEvent & { seq: number };

/**
 * A cap on the rows one API request may read from SQLite (see `withReadBudget`). Reads are served
 * newest first; what the cap leaves out is the oldest part of what was asked, and `truncated` says so.
 */
export interface ReadBudget {
	/** Rows still allowed. */
	left: number;
	/** Set when a read was cut short by the cap. */
	truncated: boolean;
}

/**
 * Rows already read, by seq: a row never changes once written under its seq (a later lap of the ring
 * writes a new seq), so a refresh reads from SQLite only the rows after the newest it holds.
 */
interface SeqCache<T> {
	/** Ascending, contiguous seqs. */
	rows: T[];
}

interface PairCache {
	current: PairState | undefined;
	currentJson: string | undefined;
	/** What the pair_state row holds, and the same without counters. */
	savedJson: string | undefined;
	savedMaterial: string | undefined;
	obsSeq: number;
	lastAt: number | undefined;
	eventSeq: number;
	/** Read path only: rows already read (see SeqCache). */
	obsRead: SeqCache<ObservationRow>;
	eventsRead: SeqCache<StoredEvent>;
}

export class Store {
	private readonly pairs = new Map<string, PairCache>();
	private readonly metaCache = new Map<string, string | undefined>();
	/** Rows written since this object started, as SQLite counts them (for tests and the benchmark). */
	rowsWritten = 0;
	/** Rows read since this object started, as workerd bills them (cursor.rowsRead), for the cost tests. */
	rowsRead = 0;
	private readonly sql: SqlLike;
	/** The cap of the request being served, if any (set by withReadBudget). */
	private budget: ReadBudget | undefined;
	/** Notifications waiting for a retry (notify/outbox.ts has the rules). */
	readonly outbox: OutboxTable;

	constructor(sql: SqlLike) {
		// Every statement goes through here, so rowsRead counts them all (load, meta, history reads).
		this.sql = {
			exec: (query, ...bindings) => {
				const cursor = sql.exec(query, ...bindings);
				return {
					toArray: () => {
						const rows = cursor.toArray();
						this.rowsRead += cursor.rowsRead ?? rows.length;
						return rows;
					},
					get rowsWritten() {
						return cursor.rowsWritten;
					},
				};
			},
		};
		this.run(SCHEMA);
		this.outbox = new OutboxTable(sql, (rows) => {
			this.rowsWritten += rows;
		});
	}

	/**
	 * Runs `read` (synchronous: no other request can interleave) with at most `maxRows` rows read from
	 * history tables; rows already held in memory cost nothing. Returns what `read` returned and whether
	 * the cap cut anything short.
	 */
	withReadBudget<T>(maxRows: number, read: () => T): { value: T; truncated: boolean } {
		const budget: ReadBudget = { left: maxRows, truncated: false };
		this.budget = budget;
		try {
			return { value: read(), truncated: budget.truncated };
		} finally {
			this.budget = undefined;
		}
	}

	state(pair: string): PairState | undefined {
		return this.load(pair).current;
	}

	/** Scheduled time of the pair's last recorded tick. */
	lastTickAt(pair: string): number | undefined {
		return this.load(pair).lastAt;
	}

	/** Records one tick: its observation row always, the state row only when more than counters changed. */
	commitTick(pair: string, obs: ObservationInput, next: PairState): void {
		const c = this.load(pair);
		const seq = c.obsSeq + 1;
		const json = JSON.stringify(next);
		const material = materialOf(next);
		let carried: string | null = null;
		if (material !== c.savedMaterial) {
			this.writeState(c, pair, json, material, seq, obs.at);
		} else if (json !== c.savedJson) {
			carried = json;
		}
		const p = obs.probe;
		this.run(
			`INSERT INTO observations (pair, slot, seq, at, ok, status, ms, reason, detail, standby, state_name, term, state)
			 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			 ON CONFLICT (pair, slot) DO UPDATE SET seq = excluded.seq, at = excluded.at, ok = excluded.ok,
			   status = excluded.status, ms = excluded.ms, reason = excluded.reason, detail = excluded.detail,
			   standby = excluded.standby, state_name = excluded.state_name, term = excluded.term, state = excluded.state`,
			pair,
			seq % OBSERVATION_RING,
			seq,
			obs.at,
			p.ok ? 1 : 0,
			p.status ?? null,
			p.ms,
			p.ok ? null : p.reason,
			p.ok ? null : (p.detail ?? null),
			obs.standby,
			next.state,
			next.term,
			carried,
		);
		c.obsSeq = seq;
		c.lastAt = obs.at;
		c.current = next;
		c.currentJson = json;
	}

	/** Records a state change outside a tick's observation (command outcomes, operator commands). */
	commitState(pair: string, next: PairState, at: number): void {
		const c = this.load(pair);
		const json = JSON.stringify(next);
		if (json === c.currentJson) return;
		// No observation row to carry counters here, so any change is written; these are rare.
		this.writeState(c, pair, json, materialOf(next), c.obsSeq, at);
		c.current = next;
		c.currentJson = json;
	}

	appendEvents(pair: string, events: readonly PairEvent[]): void {
		if (events.length === 0) return;
		const c = this.load(pair);
		for (const e of events) {
			const seq = c.eventSeq + 1;
			this.run(
				`INSERT INTO events (pair, slot, seq, at, kind, severity, from_state, to_state, term, summary, evidence, next, notify)
				 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
				 ON CONFLICT (pair, slot) DO UPDATE SET seq = excluded.seq, at = excluded.at, kind = excluded.kind,
				   severity = excluded.severity, from_state = excluded.from_state, to_state = excluded.to_state,
				   term = excluded.term, summary = excluded.summary, evidence = excluded.evidence,
				   next = excluded.next, notify = excluded.notify`,
				pair,
				seq % EVENT_RING,
				seq,
				e.at,
				e.kind,
				e.severity,
				e.from,
				e.to,
				e.term,
				e.summary,
				JSON.stringify(e.evidence),
				e.next,
				e.notify ? 1 : 0,
			);
			c.eventSeq = seq;
		}
	}

	/**
	 * The newest `limit` observations, newest first. Reads from SQLite only the rows this object has
	 * not read before (primary-key ranges), within the request's budget if one is set. The row objects
	 * are the ones held in memory: read them, never change them.
	 */
	observations(pair: string, limit: number): ObservationRow[] {
		const c = this.load(pair);
		return this.recent(
			"observations",
			c.obsRead,
			pair,
			c.obsSeq,
			limit,
			OBSERVATION_RING,
			toObservation,
		);
	}

	/** The newest `limit` events, newest first (read like observations). */
	events(pair: string, limit: number): StoredEvent[] {
		const c = this.load(pair);
		return this.recent("events", c.eventsRead, pair, c.eventSeq, limit, EVENT_RING, toEvent);
	}

	/** The newest observation seq and event seq of a pair: the cursors a client holds for delta reads. */
	cursors(pair: string): { observations: number; events: number } {
		const c = this.load(pair);
		return { observations: c.obsSeq, events: c.eventSeq };
	}

	getMeta(key: string): string | undefined {
		if (this.metaCache.has(key)) return this.metaCache.get(key);
		const row = this.sql.exec("SELECT value FROM meta WHERE key = ?", key).toArray()[0];
		const value = row ? String(row.value) : undefined;
		this.metaCache.set(key, value);
		return value;
	}

	/** Writes only when the value changed. */
	setMeta(key: string, value: string): void {
		if (this.getMeta(key) === value) return;
		this.run(
			"INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
			key,
			value,
		);
		this.metaCache.set(key, value);
	}

	private writeState(
		c: PairCache,
		pair: string,
		json: string,
		material: string,
		obsSeq: number,
		at: number,
	): void {
		this.run(
			`INSERT INTO pair_state (pair, state, obs_seq, updated_at) VALUES (?, ?, ?, ?)
			 ON CONFLICT (pair) DO UPDATE SET state = excluded.state, obs_seq = excluded.obs_seq, updated_at = excluded.updated_at`,
			pair,
			json,
			obsSeq,
			at,
		);
		c.savedJson = json;
		c.savedMaterial = material;
	}

	/**
	 * Rows `first..lastSeq` (the newest `limit`) of a ring table, newest first, through the pair's SeqCache:
	 * only seqs it does not hold are read, newest first, and no more than the request's budget allows.
	 */
	private recent<T extends { seq: number }>(
		table: "observations" | "events",
		cache: SeqCache<T>,
		pair: string,
		lastSeq: number,
		limit: number,
		ring: number,
		map: (r: Record<string, unknown>) => T,
	): T[] {
		const n = Math.min(limit, ring, lastSeq);
		if (n <= 0) return [];
		const first = lastSeq - n + 1;
		let held = cache.rows;
		const gap = lastSeq - (held.at(-1)?.seq ?? 0);
		// Extend what is held up to the newest row when that costs little more than the read asked for
		// (a summary's one row after two ticks: two rows); otherwise start afresh from what was asked.
		if (held.length === 0 || gap < 0 || gap > n + EXTEND_ROWS) held = [];
		if (held.length > 0 && gap > 0) {
			const newer = this.readSeqs(table, pair, lastSeq - gap + 1, lastSeq, ring, map);
			held = newer.length < gap ? newer : [...held, ...newer];
		}
		if (held.length === 0) held = this.readSeqs(table, pair, first, lastSeq, ring, map);
		const heldLo = held[0]?.seq ?? lastSeq + 1;
		if (heldLo > first && held.length > 0) {
			held = [...this.readSeqs(table, pair, first, heldLo - 1, ring, map), ...held];
		}
		// Never more than the ring: older seqs are overwritten in SQLite and must not outlive it here.
		const keepFrom = lastSeq - ring + 1;
		const start = held.findIndex((r) => r.seq >= keepFrom);
		cache.rows = start <= 0 ? held : held.slice(start);
		const out: T[] = [];
		for (let i = cache.rows.length - 1; i >= 0; i--) {
			const r = cache.rows[i] as T;
			if (r.seq < first) break;
			out.push(r);
		}
		return out;
	}

	/**
	 * Rows with seq `from..to` (ascending), read from the ring's slots. Under a budget, only the newest
	 * rows it allows are read; the result is then the newest part of the range.
	 */
	private readSeqs<T extends { seq: number }>(
		table: "observations" | "events",
		pair: string,
		from: number,
		to: number,
		ring: number,
		map: (r: Record<string, unknown>) => T,
	): T[] {
		let first = Math.max(from, to - ring + 1);
		if (first > to) return [];
		const b = this.budget;
		if (b) {
			const allowed = Math.min(to - first + 1, Math.max(0, b.left));
			if (allowed < to - first + 1) b.truncated = true;
			if (allowed === 0) return [];
			first = to - allowed + 1;
			b.left -= allowed;
		}
		const a = first % ring;
		const z = to % ring;
		const ranges: [number, number][] =
			to - first + 1 === ring
				? [[0, ring - 1]]
				: a <= z
					? [[a, z]]
					: [
							[a, ring - 1],
							[0, z],
						];
		const rows: Record<string, unknown>[] = [];
		for (const [lo, hi] of ranges) {
			// LIMIT: without it SQLite reads one row past the range to find its end, and bills it.
			rows.push(
				...this.sql
					.exec(
						`SELECT * FROM ${table} WHERE pair = ? AND slot BETWEEN ? AND ? LIMIT ?`,
						pair,
						lo,
						hi,
						hi - lo + 1,
					)
					.toArray(),
			);
		}
		return rows
			.filter((r) => num(r.seq) >= first && num(r.seq) <= to)
			.map(map)
			.sort((x, y) => x.seq - y.seq);
	}

	/** Loads a pair's cache once per object lifetime. */
	private load(pair: string): PairCache {
		const hit = this.pairs.get(pair);
		if (hit) return hit;
		const saved = this.sql
			.exec("SELECT state, obs_seq FROM pair_state WHERE pair = ?", pair)
			.toArray()[0];
		const obsSeq = this.newestSeq("observations", pair, OBSERVATION_RING);
		const last =
			obsSeq > 0
				? this.sql
						.exec(
							"SELECT at, state FROM observations WHERE pair = ? AND slot = ?",
							pair,
							obsSeq % OBSERVATION_RING,
						)
						.toArray()[0]
				: undefined;
		const eventSeq = this.newestSeq("events", pair, EVENT_RING);
		const savedJson = saved ? String(saved.state) : undefined;
		const savedState = savedJson ? parseState(savedJson) : undefined;
		// Counters newer than the state row ride in the latest observation (see the budget note above).
		const carried =
			saved && obsSeq > num(saved.obs_seq) && typeof last?.state === "string"
				? parseState(last.state)
				: undefined;
		const current = carried ?? savedState;
		const c: PairCache = {
			current,
			currentJson: current ? JSON.stringify(current) : undefined,
			savedJson: savedState ? JSON.stringify(savedState) : undefined,
			savedMaterial: savedState ? materialOf(savedState) : undefined,
			obsSeq,
			lastAt: last ? num(last.at) : undefined,
			eventSeq,
			obsRead: { rows: [] },
			eventsRead: { rows: [] },
		};
		this.pairs.set(pair, c);
		return c;
	}

	/**
	 * The newest seq in a ring table, or 0 when it is empty. Seq n lives in slot n % ring and slots fill
	 * in the order 1, 2, ..., ring - 1, 0, so along that order the seqs rise up to the newest one and then
	 * drop (older laps) or are missing: a binary search finds it in about log2(ring) point reads. A
	 * `max(seq)` would read every row of the pair, on every wake of an object that hibernates between
	 * ticks (intervals of 10 s or more), against the Free plan's 5M rows read a day.
	 */
	private newestSeq(table: "observations" | "events", pair: string, ring: number): number {
		const seqAt = (i: number): number | undefined => {
			const row = this.sql
				.exec(`SELECT seq FROM ${table} WHERE pair = ? AND slot = ?`, pair, (i + 1) % ring)
				.toArray()[0];
			return row ? num(row.seq) : undefined;
		};
		const first = seqAt(0);
		if (first === undefined) return 0;
		let lo = 0; // seqAt(lo) >= first holds; the answer is the last index where it does.
		let hi = ring - 1;
		while (lo < hi) {
			const mid = Math.ceil((lo + hi) / 2);
			const v = seqAt(mid);
			if (v !== undefined && v >= first) lo = mid;
			else hi = mid - 1;
		}
		return seqAt(lo) ?? first;
	}

	private run(query: string, ...bindings: (string | number | null)[]): void {
		const cursor = this.sql.exec(query, ...bindings);
		cursor.toArray(); // Drain, so the statement has surely run and rowsWritten is final.
		this.rowsWritten += cursor.rowsWritten;
	}
}

/** The state without the per-probe counters: what must be durable the moment it changes. */
function materialOf(s: PairState): string {
	// Replication facts (ages, counts) move every tick like the counters, and ride in the same row; so
	// does the time of the primary's last lease (fencing-wait.ts), while a new lease length is material.
	return JSON.stringify({
		...s,
		fails: 0,
		oks: 0,
		standbyMisses: 0,
		replication: replicationMaterial(s.replication),
		primaryLease: s.primaryLease && { ...s.primaryLease, heldAt: null },
	});
}

/** Parses a stored state; fields added by a later version take their initial values. */
function parseState(json: string): PairState | undefined {
	try {
		const raw = JSON.parse(json) as Partial<PairState>;
		if (!raw || typeof raw !== "object" || !STATE_NAMES.includes(raw.state as StateName)) {
			console.error("stored pair state is unreadable; starting afresh", json.slice(0, 200));
			return undefined;
		}
		const state = { ...initialState(typeof raw.since === "number" ? raw.since : 0), ...raw };
		if (state.primaryLease !== undefined && !isLeaseMemo(state.primaryLease)) {
			// A NaN from a garbled memo would make the fencing wait vanish (promoteNotBefore: a NaN
			// bound is never in the future); without one the wait takes the config's length, as for a
			// state stored before the memo existed.
			console.error("stored lease memo is unreadable; dropped", JSON.stringify(state.primaryLease));
			delete state.primaryLease;
		}
		return state;
	} catch {
		console.error("stored pair state is not JSON; starting afresh");
		return undefined;
	}
}

/** Whether a stored `primaryLease` has the shape fencing-wait.ts counts with: finite numbers only. */
function isLeaseMemo(v: unknown): v is PrimaryLeaseMemo {
	const finite = (x: unknown) => typeof x === "number" && Number.isFinite(x);
	if (typeof v !== "object" || v === null) return false;
	const m = v as Record<string, unknown>;
	if (!(m.heldAt === null || finite(m.heldAt)) || !finite(m.seconds)) return false;
	// Absent reads as null in promoteNotBefore (`memo.longer?.runsOutAt`).
	if (m.longer === null || m.longer === undefined) return true;
	if (typeof m.longer !== "object") return false;
	const l = m.longer as Record<string, unknown>;
	return finite(l.seconds) && finite(l.runsOutAt);
}

function toObservation(r: Record<string, unknown>): ObservationRow {
	return {
		seq: num(r.seq),
		at: num(r.at),
		ok: r.ok === 1,
		status: r.status === null ? null : num(r.status),
		ms: num(r.ms),
		reason: (r.reason as ProbeFailure | null) ?? null,
		detail: (r.detail as string | null) ?? null,
		standby: (r.standby as string | null) ?? null,
		state: r.state_name as StateName,
		term: num(r.term),
	};
}

function toEvent(r: Record<string, unknown>): StoredEvent {
	return {
		seq: num(r.seq),
		at: num(r.at),
		kind: r.kind as PairEvent["kind"],
		severity: r.severity as PairEvent["severity"],
		from: r.from_state as StateName,
		to: r.to_state as StateName,
		term: num(r.term),
		summary: String(r.summary),
		evidence: JSON.parse(String(r.evidence)) as PairEvent["evidence"],
		next: String(r.next),
		notify: r.notify === 1,
	};
}

function num(v: unknown): number {
	return typeof v === "number" ? v : Number(v);
}
