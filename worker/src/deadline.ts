// Clearable deadlines. AbortSignal.timeout leaves its timer pending after the work is done, and a pending
// timer keeps a Durable Object awake (and billed) until it fires; these are cleared as soon as the work ends.

export interface Deadline {
	readonly signal: AbortSignal;
	/** True once this deadline's own time ran out (as opposed to the parent's). */
	readonly expired: boolean;
	clear(): void;
}

/** A signal that aborts after `ms`, or when `parent` aborts, whichever comes first. */
export function deadline(ms: number, parent?: AbortSignal): Deadline {
	const ctrl = new AbortController();
	let expired = false;
	const timer = setTimeout(() => {
		expired = true;
		ctrl.abort(new DOMException(`deadline of ${ms} ms`, "TimeoutError"));
	}, ms);
	const onParent = () => ctrl.abort(parent?.reason);
	if (parent?.aborted) ctrl.abort(parent.reason);
	else parent?.addEventListener("abort", onParent, { once: true });
	return {
		signal: ctrl.signal,
		get expired() {
			return expired;
		},
		clear() {
			clearTimeout(timer);
			parent?.removeEventListener("abort", onParent);
		},
	};
}
