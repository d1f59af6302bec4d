// An in-memory HubStore for NotificationHub tests: meta rows, an event log, and an outbox with the table's semantics.
import type { HubStore } from "../../../worker/src/notification-hub";
import type { OutboxEntry, OutboxStore } from "../../../worker/src/notify";
import type { PairEvent } from "../../../worker/src/types";

export class MemOutbox implements OutboxStore {
	readonly rows = new Map<number, OutboxEntry>();
	private nextId = 1;
	list(): readonly OutboxEntry[] {
		return [...this.rows.values()];
	}
	add(entry: Omit<OutboxEntry, "id">): OutboxEntry {
		const row = { id: this.nextId++, ...entry };
		this.rows.set(row.id, row);
		return row;
	}
	reschedule(id: number, nextAt: number, attempts: number, lastError: string): void {
		const row = this.rows.get(id);
		if (row) this.rows.set(id, { ...row, nextAt, attempts, lastError });
	}
	remove(id: number): void {
		this.rows.delete(id);
	}
}

export class MemStore implements HubStore {
	meta = new Map<string, string>();
	log: { pair: string; event: PairEvent }[] = [];
	readonly outbox: OutboxStore = new MemOutbox();
	getMeta(k: string) {
		return this.meta.get(k);
	}
	setMeta(k: string, v: string) {
		this.meta.set(k, v);
	}
	appendEvents(pair: string, events: readonly PairEvent[]) {
		for (const event of events) this.log.push({ pair, event });
	}
}
