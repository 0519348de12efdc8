import { z } from 'zod';

// The authority serves the app under a CSP without 'unsafe-eval'. zod compiles fast
// object parsers with Function() unless told not to, and probes for it as each object
// schema is built (a CSP violation each load): this module is imported first, before
// any schema exists.
z.config({ jitless: true });
