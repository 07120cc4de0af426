/**
 * The zod every module under `lambdas/` uses: `zod/mini`, configured as classic zod configures itself. Import it as
 * `import * as z from '../shared/zod.js'` (biome refuses `'zod'` under `lambdas/`).
 *
 * Why mini: classic zod (`import * as z from 'zod'`) put about 108 KB into every bundle and took about 29 ms of each
 * cold start to import; `zod/mini` validates with the same core (same checks, issues and messages) through functions
 * instead of methods (`z.optional(s)`, `s.check(z.minLength(1))`, `z.pipe(s, z.transform(f))`), and costs about 23 KB
 * and 5 ms with the configuration below (docs/development.md, Bundle footprint).
 *
 * The configuration classic zod applies by itself when its first schema is built, and mini leaves to the caller:
 * - the English messages (`Too small: expected string to have >=1 characters`), which the orders API returns in its
 *   400s. Mini alone answers every issue with "Invalid input". The locale is imported from its own module: through
 *   `z.locales.en`, esbuild would keep all of `z.locales`, every language (about 260 KB);
 * - the memoizer, which lets a recursive schema (the search index mapping's fields) parse an input that refers to
 *   itself, as classic does. A schema reads it when it is built: every module that builds one imports this module,
 *   which therefore runs before any of them.
 * Both cost about 7 KB of bundle together and no measurable import time.
 */
import { config, memoizer } from 'zod/mini';
import en from 'zod/v4/locales/en.js';

config(en());
config({ memoizer: memoizer() });

export * from 'zod/mini';
