// zod/mini with zod's English messages: every schema module of protocol/ and the agent imports it `* as z` from here.
import { config } from "zod/mini";
import en from "zod/v4/locales/en.js";

// zod/mini loads no locale by itself (classic `zod` configures English when it loads), so without
// this every default message would read "Invalid input". One call sets zod's global config, which
// classic and mini share; English alone keeps the other locales out of the agent bundle.
config(en());

/**
 * zod/mini rather than classic `zod`: classic attaches every method (.optional, .min, .pick, ...) to
 * every schema instance, which cost the agent 2.8 to 3.8 MiB of idle RSS; mini's functions tree-shake
 * (docs/agent.md, "Measured"). Mini schemas are zod/v4/core schemas, so the Worker's classic schemas
 * may hold them; a classic method on one of them is a type error (use z.optional(x), z.extend(x, ...)).
 */
export * from "zod/mini";
