// Runs commanded actions: idempotent by opId, one at a time in arrival order, each step recorded and persisted.
import {
	type CommandAction,
	MAX_STEP_OUTPUT_CHARS,
	MAX_STEP_WARNING_CHARS,
	MAX_STEP_WARNINGS,
	type OperationRecord,
	type StepResult,
	type StepWarning,
} from "../../protocol";
import type { Logger } from "./log";
import type { StateStore } from "./state-store";
import type { Step } from "./steps/schema";
import type { StepContext, StepOutcome } from "./steps/types";

export type RunStep = (step: Step, ctx: StepContext) => Promise<StepOutcome>;

/**
 * Operations remembered for idempotency: the watchdog retries one opId for a few minutes at most, and
 * 50 records (a few KB each at most) keep the state file small.
 */
export const HISTORY_LIMIT = 50;

export interface OperationDeps {
	store: StateStore;
	actions: Readonly<Record<CommandAction, readonly Step[]>>;
	runStep: RunStep;
	/** The per-step context (workspace, unit, ready URL) without the per-run parts. */
	stepContext: Omit<StepContext, "signal" | "action">;
	now: () => number;
	log: Logger;
	historyLimit?: number;
}

export interface Command {
	opId: string;
	action: CommandAction;
	term: number;
}

export type Submitted =
	| { kind: "accepted"; record: OperationRecord }
	| { kind: "existing"; record: OperationRecord }
	| { kind: "conflict"; record: OperationRecord }
	| { kind: "stale-term"; highest: number };

const copy = (record: OperationRecord): OperationRecord => structuredClone(record);

function tail(text: string): string {
	return text.length > MAX_STEP_OUTPUT_CHARS ? text.slice(-MAX_STEP_OUTPUT_CHARS) : text;
}

export class OperationManager {
	readonly #deps: OperationDeps;
	readonly #queue: OperationRecord[] = [];
	readonly #done = new Map<string, { promise: Promise<void>; resolve: () => void }>();
	#pumping: Promise<void> | null = null;
	#current: { record: OperationRecord; abort: AbortController } | null = null;
	#shuttingDown = false;

	constructor(deps: OperationDeps) {
		this.#deps = deps;
	}

	get #history(): OperationRecord[] {
		return this.#deps.store.state.operations;
	}

	/** The most recently accepted operation (it may still be queued or running). */
	last(): OperationRecord | null {
		const record = this.#history.at(-1);
		return record === undefined ? null : copy(record);
	}

	get(opId: string): OperationRecord | null {
		const record = this.#find(opId);
		return record === undefined ? null : copy(record);
	}

	#find(opId: string): OperationRecord | undefined {
		return this.#history.find((op) => op.opId === opId);
	}

	/**
	 * A repeated opId returns the first record, whatever the current term (a retry is a safe poll).
	 * A new one must carry a term no lower than the highest seen; a higher term is persisted first.
	 */
	async submit(command: Command): Promise<Submitted> {
		const existing = this.#find(command.opId);
		if (existing !== undefined) {
			const same = existing.action === command.action && existing.term === command.term;
			return { kind: same ? "existing" : "conflict", record: copy(existing) };
		}
		const store = this.#deps.store;
		if (command.term < store.state.term) return { kind: "stale-term", highest: store.state.term };

		// Created synchronously, so a duplicate arriving while we persist finds it.
		const steps = this.#deps.actions[command.action];
		const record: OperationRecord = {
			opId: command.opId,
			action: command.action,
			term: command.term,
			status: "running",
			startedAt: this.#deps.now(),
			steps: steps.map((step): StepResult => ({ step: step.type, status: "pending" })),
		};
		if (command.term > store.state.term) {
			this.#deps.log.info("term raised", { from: store.state.term, to: command.term });
			store.state.term = command.term;
		}
		this.#history.push(record);
		this.#trimHistory();
		let resolve = () => {};
		const promise = new Promise<void>((r) => {
			resolve = r;
		});
		this.#done.set(record.opId, { promise, resolve });
		this.#queue.push(record);
		this.#deps.log.info("operation accepted", {
			opId: record.opId,
			action: record.action,
			term: record.term,
			queued: this.#queue.length - 1 + (this.#pumping ? 1 : 0),
		});
		try {
			await store.save();
		} catch (error) {
			// Not durably accepted: forget it, so a retry of the same opId starts it properly.
			this.#queue.splice(this.#queue.indexOf(record), 1);
			this.#history.splice(this.#history.indexOf(record), 1);
			this.#done.get(record.opId)?.resolve();
			this.#done.delete(record.opId);
			throw error;
		}
		this.#pumping ??= this.#pump();
		return { kind: "accepted", record: copy(record) };
	}

	/** Waits up to `waitMs` for the operation to finish, then returns its record as it stands. */
	async wait(opId: string, waitMs: number): Promise<OperationRecord | null> {
		const done = this.#done.get(opId);
		if (done !== undefined && waitMs > 0) {
			let timer: ReturnType<typeof setTimeout> | undefined;
			const timeout = new Promise<void>((r) => {
				timer = setTimeout(r, waitMs);
			});
			await Promise.race([done.promise, timeout]);
			clearTimeout(timer);
		}
		return this.get(opId);
	}

	/** Resolves when nothing is queued or running. */
	async idle(): Promise<void> {
		while (this.#pumping !== null) await this.#pumping;
	}

	/**
	 * Stops for a shutdown: the running step is aborted (its process group killed) and recorded as
	 * interrupted, queued operations too, and the state is saved before this resolves.
	 */
	async shutdown(): Promise<void> {
		this.#shuttingDown = true;
		this.#current?.abort.abort();
		for (const record of this.#queue.splice(0))
			this.#finishInterrupted(record, "the agent shut down before this operation started");
		await this.idle();
		await this.#deps.store.save();
	}

	#trimHistory(): void {
		const limit = this.#deps.historyLimit ?? HISTORY_LIMIT;
		const history = this.#history;
		// Only finished records are dropped: a running or queued one must stay findable by its opId.
		for (let i = 0; history.length > limit && i < history.length; ) {
			const record = history[i];
			if (record !== undefined && record.status !== "running") history.splice(i, 1);
			else i++;
		}
	}

	async #pump(): Promise<void> {
		// Started from submit() without awaiting; yield once so the caller gets its answer first.
		await Promise.resolve();
		for (let record = this.#queue.shift(); record !== undefined; record = this.#queue.shift()) {
			try {
				await this.#run(record);
			} catch (error) {
				// Only persistence can throw here (disk full, state dir gone): record it and keep serving.
				this.#deps.log.error("operation could not be saved", {
					opId: record.opId,
					error: (error as Error).message,
				});
				record.error = `could not save the agent state: ${(error as Error).message}`;
				record.status = "failed";
				record.finishedAt = this.#deps.now();
				this.#current = null;
				this.#done.get(record.opId)?.resolve();
				this.#done.delete(record.opId);
			}
		}
		this.#pumping = null;
	}

	async #run(record: OperationRecord): Promise<void> {
		const { store, log } = this.#deps;
		// Fencing: a newer command raised the term while this one waited; the newer decision wins.
		if (record.term < store.state.term) {
			record.error = `superseded: a command with term ${store.state.term} arrived while this one (term ${record.term}) waited`;
			for (const step of record.steps) step.status = "skipped";
			await this.#finish(record, "failed");
			return;
		}
		const steps = this.#deps.actions[record.action];
		const abort = new AbortController();
		this.#current = { record, abort };
		let status: OperationRecord["status"] = "succeeded";
		for (const [index, step] of steps.entries()) {
			const result = record.steps[index];
			if (result === undefined) continue;
			if (status !== "succeeded") {
				result.status = "skipped";
				continue;
			}
			result.status = "running";
			await store.save();
			const started = this.#deps.now();
			const outcome = await this.#runOne(step, record.action, abort.signal, started);
			result.ms = outcome.ms;
			result.output = tail(outcome.output);
			if (outcome.exitCode !== undefined) result.exitCode = outcome.exitCode;
			if (outcome.warnings !== undefined && outcome.warnings.length > 0)
				result.warnings = boundWarnings(outcome.warnings);
			if (this.#shuttingDown) {
				result.status = "interrupted";
				result.error = "the agent shut down while this step was running";
				status = "interrupted";
			} else {
				result.status = outcome.status;
				if (outcome.error !== undefined) result.error = outcome.error;
				if (outcome.status === "failed") status = "failed";
			}
			log.info("step finished", {
				opId: record.opId,
				step: step.type,
				status: result.status,
				ms: outcome.ms,
				error: result.error,
			});
		}
		this.#current = null;
		await this.#finish(record, status);
	}

	async #runOne(
		step: Step,
		action: CommandAction,
		signal: AbortSignal,
		started: number,
	): Promise<StepOutcome> {
		try {
			return await this.#deps.runStep(step, { ...this.#deps.stepContext, action, signal });
		} catch (error) {
			// runStep returns expected failures as values; a throw is a bug, but must not wedge the queue.
			this.#deps.log.error("step threw", {
				step: step.type,
				error: (error as Error).stack ?? String(error),
			});
			return {
				status: "failed",
				ms: this.#deps.now() - started,
				output: "",
				error: `internal error in step ${step.type}: ${(error as Error).message}`,
			};
		}
	}

	#finishInterrupted(record: OperationRecord, why: string): void {
		record.error = why;
		for (const step of record.steps) if (step.status === "pending") step.status = "skipped";
		record.status = "interrupted";
		record.finishedAt = this.#deps.now();
		this.#done.get(record.opId)?.resolve();
		this.#done.delete(record.opId);
	}

	async #finish(record: OperationRecord, status: OperationRecord["status"]): Promise<void> {
		record.status = status;
		record.finishedAt = this.#deps.now();
		this.#deps.log.info("operation finished", {
			opId: record.opId,
			action: record.action,
			status,
			ms: record.finishedAt - record.startedAt,
		});
		try {
			await this.#deps.store.save();
		} finally {
			this.#done.get(record.opId)?.resolve();
			this.#done.delete(record.opId);
		}
	}
}

/** A step's warnings cut to the protocol's bounds, so a record always parses on the Worker. */
function boundWarnings(warnings: readonly StepWarning[]): StepWarning[] {
	return warnings.slice(0, MAX_STEP_WARNINGS).map((w) => ({
		code: w.code.slice(0, 64),
		message:
			w.message.length > MAX_STEP_WARNING_CHARS
				? `${w.message.slice(0, MAX_STEP_WARNING_CHARS - 1)}…`
				: w.message,
	}));
}
