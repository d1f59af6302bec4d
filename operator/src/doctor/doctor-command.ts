// `failover-gateway doctor --url URL`: asks the deployed Worker (GET /api/v1/doctor) whether a failover would work.
import { parseArgs } from "node:util";
import type { DoctorReport } from "../../../worker/src/doctor-report";
import { type CliIo, EXIT_FAILED, EXIT_OK, usageError } from "../io";

export const DOCTOR_HELP = `Usage: failover-gateway doctor --url URL [--notify]

Asks the deployed Worker to check each pair the way a failover would use it:
the config, the probe path and body, each agent answering signed requests with
a matching key and a compatible protocol version, every witness able to vote,
and the notifiers. Exits 0 only when every pair could fail over.

The admin token is read from the ADMIN_TOKEN environment variable.

Options:
  --url URL    the Worker, e.g. https://failover-gateway.<subdomain>.workers.dev
  --notify     also send a test message through every notifier`;

// The Worker's checks each have their own deadlines (a few seconds per agent); 30 s covers a slow pair.
const REQUEST_TIMEOUT_MS = 30_000;

export async function doctorCommand(
	args: string[],
	io: CliIo,
	deps: { env: Record<string, string | undefined>; fetch: typeof fetch },
): Promise<number> {
	let values: { url?: string; notify?: boolean; help?: boolean };
	try {
		({ values } = parseArgs({
			args,
			options: { url: { type: "string" }, notify: { type: "boolean" }, help: { type: "boolean" } },
			strict: true,
			allowPositionals: false,
		}));
	} catch (error) {
		return usageError(io, (error as Error).message, DOCTOR_HELP);
	}
	if (values.help) {
		io.out(`${DOCTOR_HELP}\n`);
		return EXIT_OK;
	}
	const base = values.url === undefined ? null : URL.parse(values.url);
	if (base === null || !/^https?:$/.test(base.protocol))
		return usageError(io, "--url needs the Worker's http(s) URL", DOCTOR_HELP);
	const token = deps.env.ADMIN_TOKEN;
	if (!token) {
		io.err(
			'failover-gateway doctor: ADMIN_TOKEN is not set; fix: export ADMIN_TOKEN="$(jq -r .ADMIN_TOKEN local/worker-secrets.json)"\n',
		);
		return EXIT_FAILED;
	}
	const url = new URL("/api/v1/doctor", base);
	if (values.notify) url.searchParams.set("notify", "1");
	let res: Response;
	try {
		res = await deps.fetch(url, {
			headers: { authorization: `Bearer ${token}`, accept: "application/json" },
			signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
		});
	} catch (e) {
		io.err(`failover-gateway doctor: ${url.origin} did not answer: ${(e as Error).message}\n`);
		return EXIT_FAILED;
	}
	const text = await res.text();
	let body: unknown;
	try {
		body = JSON.parse(text);
	} catch {
		body = undefined;
	}
	if (res.status === 401 || res.status === 403 || res.status === 503) {
		const message = (body as { error?: { message?: string } } | undefined)?.error?.message ?? text;
		io.err(
			`failover-gateway doctor: the Worker refused (${res.status}): ${message.slice(0, 300)}\n`,
		);
		return EXIT_FAILED;
	}
	const report = body as DoctorReport | undefined;
	if (!report || !Array.isArray(report.pairs)) {
		io.err(
			`failover-gateway doctor: unexpected answer (${res.status}); is ${url.origin} this project's Worker, deployed from this version? ${text.slice(0, 200)}\n`,
		);
		return EXIT_FAILED;
	}
	io.out(formatReport(report));
	return report.ok ? EXIT_OK : EXIT_FAILED;
}

/** One line per check, "ok" or "FAIL" with the fix under it; a verdict line per pair and overall. */
export function formatReport(report: DoctorReport): string {
	const lines: string[] = [];
	for (const c of report.checks) lines.push(checkLine(c));
	for (const p of report.pairs) {
		lines.push(`pair ${p.pair}: ${p.ok ? "a failover would work" : "a failover would NOT work"}`);
		for (const c of p.checks) lines.push(checkLine(c));
	}
	lines.push(report.ok ? "doctor: all checks passed" : "doctor: some checks failed (fixes above)");
	return `${lines.join("\n")}\n`;
}

function checkLine(c: DoctorReport["checks"][number]): string {
	const head = `  ${c.ok ? "ok  " : "FAIL"} ${c.name}: ${c.detail}`;
	return c.ok || !c.fix ? head : `${head}\n         fix: ${c.fix}`;
}
