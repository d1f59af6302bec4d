// The notification outbox table in the Durable Object's SQLite: a handful of rows, cached in memory, written only when a delivery fails.
import type { OutboxEntry, OutboxStore } from "./notify/outbox";
import type { SqlLike } from "./store";
import type { PairEvent } from "./types";

/*
 * `id INTEGER PRIMARY KEY` is the rowid itself: one b-tree, no index, so each insert, update or
 * delete costs one row written. Nothing is written while deliveries succeed; docs/cost.md has the
 * worst case (a full outbox retried all day).
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS notify_outbox (
	id INTEGER PRIMARY KEY,
	pair TEXT NOT NULL,
	notifier TEXT NOT NULL,
	key TEXT NOT NULL,
	event TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	next_at INTEGER NOT NULL,
	attempts INTEGER NOT NULL,
	last_error TEXT NOT NULL
);
`;

export class OutboxTable implements OutboxStore {
	/** Loaded on first use and kept in step with every write, so an alarm that finds nothing due reads no rows. */
	private cache: Map<number, OutboxEntry> | undefined;

	/** `onWrite` receives the rows each statement wrote (the Store's running count). */
	constructor(
		private readonly sql: SqlLike,
		private readonly onWrite: (rows: number) => void = () => {},
	) {
		this.sql.exec(SCHEMA).toArray();
	}

	list(): readonly OutboxEntry[] {
		return [...this.load().values()];
	}

	add(entry: Omit<OutboxEntry, "id">): OutboxEntry {
		const cache = this.load();
		const id = Math.max(0, ...cache.keys()) + 1;
		const row: OutboxEntry = { id, ...entry };
		this.run(
			`INSERT INTO notify_outbox (id, pair, notifier, key, event, created_at, next_at, attempts, last_error)
			 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			id,
			row.pair,
			row.notifier,
			row.key,
			JSON.stringify(row.event),
			row.createdAt,
			row.nextAt,
			row.attempts,
			row.lastError,
		);
		cache.set(id, row);
		return row;
	}

	reschedule(id: number, nextAt: number, attempts: number, lastError: string): void {
		const cache = this.load();
		const row = cache.get(id);
		if (!row) return;
		this.run(
			"UPDATE notify_outbox SET next_at = ?, attempts = ?, last_error = ? WHERE id = ?",
			nextAt,
			attempts,
			lastError,
			id,
		);
		cache.set(id, { ...row, nextAt, attempts, lastError });
	}

	remove(id: number): void {
		const cache = this.load();
		if (!cache.delete(id)) return;
		this.run("DELETE FROM notify_outbox WHERE id = ?", id);
	}

	private load(): Map<number, OutboxEntry> {
		if (this.cache) return this.cache;
		const cache = new Map<number, OutboxEntry>();
		for (const r of this.sql.exec("SELECT * FROM notify_outbox").toArray()) {
			const event = parseEvent(r.event);
			// An unreadable row (written by a later version, say) is dropped: worst case one lost retry.
			if (!event) {
				this.run("DELETE FROM notify_outbox WHERE id = ?", Number(r.id));
				continue;
			}
			cache.set(Number(r.id), {
				id: Number(r.id),
				pair: String(r.pair),
				notifier: String(r.notifier) as OutboxEntry["notifier"],
				key: String(r.key),
				event,
				createdAt: Number(r.created_at),
				nextAt: Number(r.next_at),
				attempts: Number(r.attempts),
				lastError: String(r.last_error),
			});
		}
		this.cache = cache;
		return cache;
	}

	private run(query: string, ...bindings: (string | number | null)[]): void {
		const cursor = this.sql.exec(query, ...bindings);
		cursor.toArray();
		this.onWrite(cursor.rowsWritten);
	}
}

function parseEvent(text: unknown): PairEvent | undefined {
	try {
		const e = JSON.parse(String(text)) as PairEvent;
		return e && typeof e === "object" && typeof e.kind === "string" ? e : undefined;
	} catch {
		return undefined;
	}
}
