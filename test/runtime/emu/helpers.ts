// Shared by the engine's tests: paths of the test kernels and small report helpers.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EmuLaunch, EmuReport, EmuReportKind } from '../../../runtime/emu/report.js';

export const KERNELS = fileURLToPath(new URL('./kernels/', import.meta.url));
export const kernel = (name: string): string => path.join(KERNELS, name);

/** The single launch of a run (fails the test if there is not exactly one). */
export function onlyLaunch(reports: EmuLaunch[]): EmuLaunch {
  if (reports.length !== 1) throw new Error(`expected one launch, got ${reports.length}`);
  return reports[0];
}

export function ofKind(launch: EmuLaunch, kind: EmuReportKind): EmuReport[] {
  return launch.reports.filter((r) => r.kind === kind);
}

/** "name 0x1234" lines printed by a test program → BigInt address. */
export function printedAddress(stdout: string, name: string): bigint {
  const m = new RegExp(`^${name} (0x[0-9a-f]+)$`, 'm').exec(stdout);
  if (!m) throw new Error(`program did not print '${name} 0x…':\n${stdout}`);
  return BigInt(m[1]);
}

export const hex = (v: bigint): string => `0x${v.toString(16)}`;
