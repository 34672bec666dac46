// Every property test is seeded: CI runs are reproducible, and a failure prints the seed and path to
// replay. SVDQ_FUZZ_SEED picks another seed; SVDQ_FUZZ_RUNS scales the case counts (`npm run fuzz`).
import fc from 'fast-check';

const seed = Number(process.env.SVDQ_FUZZ_SEED ?? 20261203);
const scale = Number(process.env.SVDQ_FUZZ_RUNS ?? 1);
fc.configureGlobal({ seed, numRuns: Math.max(1, Math.round(100 * scale)) });
