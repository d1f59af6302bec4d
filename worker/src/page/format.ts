// How the page words numbers: durations, UTC times, state names and their colour tone.
import type { StateName } from "../types";

/** A rounded, human duration: "4 s", "12 min", "3 h 5 min", "2 d 4 h". */
export function formatDuration(ms: number): string {
	const s = Math.max(0, Math.round(ms / 1000));
	if (s < 60) return `${s} s`;
	const m = Math.floor(s / 60);
	if (m < 60) return `${m} min`;
	const h = Math.floor(m / 60);
	if (h < 48) return m % 60 === 0 ? `${h} h` : `${h} h ${m % 60} min`;
	const d = Math.floor(h / 24);
	return h % 24 === 0 ? `${d} d` : `${d} d ${h % 24} h`;
}

/** "2026-08-01 14:03:22 UTC": the server cannot know the reader's zone; the script rewrites it locally. */
export function formatUtc(ms: number): string {
	return `${new Date(ms).toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

export function formatMs(ms: number): string {
	return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

/** Colour families: calm when serving as planned, amber while undecided, red when someone must act. */
export type Tone = "green" | "blue" | "amber" | "red" | "grey";

export function stateTone(state: StateName | null): Tone {
	switch (state) {
		case "primary-active":
			return "green";
		case "standby-active":
			return "blue";
		case "suspect-partition":
		case "promoting":
		case "demoting":
			return "amber";
		case "both-down":
		case "held":
			return "red";
		case "paused":
		case null:
			return "grey";
	}
}

export function stateLabel(state: StateName | null): string {
	return state === null ? "not ticked yet" : state.replace("-", " ");
}
