/**
 * Lets the benchmarks run the action's own source (`src/`, which imports `./x.js` as the bundler and
 * tsc expect) straight under Node's type stripping: a `.js` import that does not exist resolves to the
 * `.ts` file beside it. Loaded with `node --import ./bench/lib/resolve-ts.ts`.
 */
import { registerHooks } from 'node:module';

registerHooks({
  resolve(specifier, context, next) {
    try {
      return next(specifier, context);
    } catch (err) {
      if (specifier.startsWith('.') && specifier.endsWith('.js')) return next(`${specifier.slice(0, -3)}.ts`, context);
      throw err;
    }
  },
});
