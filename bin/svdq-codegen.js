#!/usr/bin/env node
// Entry point: registers tsx so the TypeScript sources (and users' .ts DSL files) load without a build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./cli.ts');
process.exitCode = await main(process.argv);
