// The agent protocol: everything the watchdog Worker and the agent share on the wire.
export * from "./answers";
export * from "./audience";
export * from "./dial-out";
export * from "./encoding";
export * from "./issues";
export * from "./keys";
export * from "./lease";
export * from "./probe-spec";
export * from "./routes";
export * from "./schemas";
export * from "./signing";
export * from "./terms";
export * from "./url-policy";
export * from "./version";
