// Case counts for the fuzz properties: ≥ 1,000 per property in the default suite (a few seconds),
// scaled by SVDQ_FUZZ_RUNS (`npm run fuzz` sets 100). The seed comes from test/setup.ts.
export const FUZZ_SCALE = Number(process.env.SVDQ_FUZZ_RUNS ?? 1);
export const runs = (base = 1000): number => Math.max(1, Math.round(base * FUZZ_SCALE));
/** A single fuzz case must never take this long (the "no hang over 5 s"). */
export const CASE_BUDGET_MS = 5000;
