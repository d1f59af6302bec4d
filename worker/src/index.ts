// Worker entry: the HTTP API and the cron backstop; the watch loop itself lives in the Watchdog Durable Object.
import { app } from "./api";
import { scheduled } from "./scheduled";

export { Watchdog } from "./watchdog";

export default { fetch: app.fetch, scheduled } satisfies ExportedHandler<Env>;
