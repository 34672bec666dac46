// `npm run bench`: speed targets live here, never in timed tests. Each suite prints its own table.
const suites: Array<[string, () => Promise<unknown>]> = [
  ['emulator', async () => (await import('./emu.js')).benchEmu()],
  ['tuner', async () => (await import('./tuner.js')).benchTuner()],
  ['fusion', async () => (await import('./fusion.js')).benchFusion()],
  ['inspect', async () => (await import('./inspect.js')).benchInspect()],
];

const only = process.argv[2];
for (const [name, run] of suites) {
  if (only && only !== name) continue;
  console.log(`\n== ${name} ==`);
  await run();
}
