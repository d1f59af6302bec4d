// The agent's own version (the package's) and the protocol it speaks: what `failover-agent --version` prints.
import pkg from "../../package.json" with { type: "json" };
import { PROTOCOL_VERSION } from "../../protocol";

/** The package version the bundle was built from (package.json "version"). */
export const AGENT_VERSION: string = pkg.version;

/** One line, e.g. "failover-agent 0.1.0 (protocol 1)": the form docs and the build script print. */
export function versionLine(): string {
	return `failover-agent ${AGENT_VERSION} (protocol ${PROTOCOL_VERSION})`;
}
