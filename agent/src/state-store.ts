// Role, highest term and recent operations, kept in memory and written atomically to the state dir.
import { join } from "node:path";
import {
	formatIssues,
	type OperationRecord,
	OperationRecordSchema,
	ROLES,
	type Role,
	TermSchema,
} from "../../protocol";
import * as z from "../../protocol/zod";
import { ensureDir, readTextFile, writeFileAtomic } from "./atomic-file";
import { stat } from "./fs-async";

export const STATE_FILE = "state.json";
/**
 * Largest state file read, bytes: a guard against reading a runaway file whole at start, far above an
 * honest one (recent operations with step output capped at MAX_STEP_OUTPUT_CHARS: hundreds of KB).
 */
export const MAX_STATE_FILE_BYTES = 64 * 1024 * 1024;

const PersistedStateSchema = z.object({
	format: z.literal(1),
	role: z.enum(ROLES),
	// Bounded like every term on the wire: a state file cannot make the agent report a term the watchdog rejects.
	term: TermSchema,
	operations: z.array(OperationRecordSchema),
});
export type PersistedState = z.infer<typeof PersistedStateSchema>;

/** The state file exists but cannot be trusted: starting fresh would forget the highest term. */
export class StateFileError extends Error {
	override name = "StateFileError";
}

export interface OpenedState {
	store: StateStore;
	/** Operations that were running (or queued) when the agent last stopped, now marked interrupted. */
	interrupted: OperationRecord[];
	/** The role in the state file when it differs from the configured one. */
	previousRole?: Role;
}

/**
 * Refuses a state dir another user may write: whoever can write there can forge the fence's lease
 * record (a long lease counted from now: a restarted primary keeps serving beside the promoted
 * standby), the term, or a maintenance window that pauses failover. Throws StateFileError saying
 * what to run. Owner: the agent's user or root (systemd's StateDirectory= makes it the service's).
 */
export async function checkStateDirOwnership(dir: string): Promise<void> {
	const st = await stat(dir);
	const uid = process.getuid?.();
	// Root (`sudo failover-agent term`) may open the agent user's dir.
	if (uid !== undefined && uid !== 0 && st.uid !== uid && st.uid !== 0) {
		throw new StateFileError(
			`stateDir ${dir} is owned by uid ${st.uid}, not by the agent's user (uid ${uid}) or root: that user could forge the fence's lease record; run: chown ${uid} ${dir}`,
		);
	}
	if ((st.mode & 0o022) !== 0) {
		throw new StateFileError(
			`stateDir ${dir} is writable by others (mode ${(st.mode & 0o7777).toString(8).padStart(4, "0")}): they could forge the fence's lease record, the term or a maintenance window; run: chmod 700 ${dir}`,
		);
	}
}

export class StateStore {
	readonly file: string;
	readonly state: PersistedState;
	#inflight: Promise<void> = Promise.resolve();
	#queued: Promise<void> | null = null;

	private constructor(file: string, state: PersistedState) {
		this.file = file;
		this.state = state;
	}

	/** Loads the state dir (creating it if needed) and marks operations cut off by a crash as interrupted. */
	static async open(dir: string, options: { role: Role; now: () => number }): Promise<OpenedState> {
		await ensureDir(dir);
		await checkStateDirOwnership(dir);
		const file = join(dir, STATE_FILE);
		const read = await readTextFile(file, { stateFile: { maxBytes: MAX_STATE_FILE_BYTES } });
		let state: PersistedState;
		if (read.ok) {
			let json: unknown;
			try {
				json = JSON.parse(read.text);
			} catch (error) {
				throw new StateFileError(
					`${file} is not valid JSON (${(error as Error).message}); move it aside to start fresh`,
				);
			}
			const parsed = PersistedStateSchema.safeParse(json);
			if (!parsed.success) {
				throw new StateFileError(
					`${file} is not a state file this agent understands: ${formatIssues(parsed.error.issues, "(state)").join("; ")}`,
				);
			}
			state = parsed.data;
		} else if (read.missing) {
			state = { format: 1, role: options.role, term: 0, operations: [] };
		} else {
			throw new StateFileError(`cannot read ${file}: ${read.message}`);
		}

		const previousRole = state.role !== options.role ? state.role : undefined;
		state.role = options.role;
		const interrupted = markInterrupted(state.operations, options.now());
		const store = new StateStore(file, state);
		await store.save();
		return { store, interrupted, ...(previousRole ? { previousRole } : {}) };
	}

	get term(): number {
		return this.state.term;
	}

	get role(): Role {
		return this.state.role;
	}

	/**
	 * Writes the current state. Calls made while a write is waiting share it; the snapshot is taken when
	 * the write starts, so every change made before a save() call is on disk when its promise resolves.
	 */
	save(): Promise<void> {
		if (this.#queued !== null) return this.#queued;
		const next = this.#inflight.then(() => {
			this.#queued = null;
			return writeFileAtomic(this.file, `${JSON.stringify(this.state)}\n`);
		});
		this.#queued = next;
		this.#inflight = next.catch(() => {});
		return next;
	}
}

const INTERRUPTED_STEP = "the agent stopped while this step was running";

function markInterrupted(operations: OperationRecord[], now: number): OperationRecord[] {
	const found: OperationRecord[] = [];
	for (const op of operations) {
		if (op.status !== "running") continue;
		op.status = "interrupted";
		op.finishedAt = now;
		const ran = op.steps.some((s) => s.status !== "pending");
		op.error = ran
			? "the agent stopped during this operation"
			: "the agent stopped before this operation started";
		for (const step of op.steps) {
			if (step.status === "running") {
				step.status = "interrupted";
				step.error = INTERRUPTED_STEP;
			} else if (step.status === "pending") {
				step.status = "skipped";
			}
		}
		found.push(op);
	}
	return found;
}
