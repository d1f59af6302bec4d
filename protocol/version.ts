// Protocol version spoken between the watchdog Worker and the agent; bumped on any incompatible wire change.
export const PROTOCOL_VERSION = 1 as const;

/** First line of every canonical string: binds a signature to this protocol and version. */
export const SIGNING_CONTEXT = "failover-gateway/v1";
