// Worker entry: the HTTP API and the cron backstop; the watch loop itself lives in the Watchdog Durable Object.
import { env } from "cloudflare:workers";
import { adminTokenWeakness } from "./admin-token";
import { app } from "./api";
import { loadConfig } from "./config-cache";
import { scheduled } from "./scheduled";

export { Watchdog } from "./watchdog";

// Parse WATCHDOG_CONFIG while the isolate starts: zod's first parse costs a few ms of CPU, which would
// otherwise land in the first alarm's 10 ms budget after every deploy or eviction.
// LOCAL_DEVELOPMENT is a plain var set only locally (secrets.d.ts), unknown to the generated Cloudflare.Env.
loadConfig(env.WATCHDOG_CONFIG, (env as Env).LOCAL_DEVELOPMENT);
// A guessable token turns the admin routes off (auth.ts); say so in the logs as soon as the isolate starts.
const weakToken = adminTokenWeakness((env as Env).ADMIN_TOKEN?.trim());
if (weakToken) console.error(weakToken);

export default { fetch: app.fetch, scheduled } satisfies ExportedHandler<Env>;
