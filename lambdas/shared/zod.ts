/**
 * The zod every module under `lambdas/` uses: `zod/mini`, set up as classic zod sets itself up. Import it as
 * `import * as z from '../shared/zod.js'` (biome refuses `'zod'` and `'zod/mini'` elsewhere under `lambdas/`).
 *
 * Why mini: classic zod (`import * as z from 'zod'`) put 107-113 KB into every bundle; `zod/mini` validates with
 * the same core (same checks, issues and messages) through functions instead of methods (`z.optional(s)`,
 * `s.check(z.minLength(1))`, `z.pipe(s, z.transform(f))`) and puts 38-48 KB, which cut each function's cold start
 * by 6 to 21 ms (docs/benchmarks.md, cold-start; docs/development.md, Bundle footprint).
 *
 * What classic zod sets up by itself when its first schema is built, and mini leaves to the caller:
 * - the English messages (`Too small: expected string to have >=1 characters`), which the orders API returns in
 *   its 400s; mini alone answers every issue with "Invalid input". The locale is imported from its own module:
 *   through `z.locales.en`, esbuild would keep all of `z.locales`, every language (about 260 KB);
 * - the memoizer, which lets a recursive schema (the search index mapping's fields) parse an input that refers to
 *   itself, as classic does. A schema reads it when it is built: every module that builds one imports this
 *   module, which therefore runs before any of them.
 * Together they weigh about 6 KB of each bundle (en 2.8 KB, the memoizer 3.5 KB) and no measurable import time.
 */
import { config, memoizer } from 'zod/mini';
import en from 'zod/v4/locales/en.js';

config(en());
config({ memoizer: memoizer() });

export * from 'zod/mini';
