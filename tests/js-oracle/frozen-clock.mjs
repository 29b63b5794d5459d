// Runs `fn` with the global clock stopped at `nowMs`: `Date.now()` and `new Date()` (which does
// not go through `Date.now`) both read it. How the oracle scripts make the packages' own
// timestamps reproducible.
export function atTime(nowMs, fn) {
  const RealDate = globalThis.Date;
  globalThis.Date = class extends RealDate {
    constructor(...args) { super(...(args.length ? args : [nowMs])); }
    static now() { return nowMs; }
  };
  try {
    return fn();
  } finally {
    globalThis.Date = RealDate;
  }
}
