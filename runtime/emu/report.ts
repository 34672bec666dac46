// The emulator's JSON report (SVDQ_EMU_REPORT=path), as TypeScript types. Written by
// runtime/emu/report.cpp; the schema is documented in runtime/emu/README.md.

export type Dim3 = [number, number, number];

export type EmuReportKind =
  | 'out-of-bounds'
  | 'misaligned'
  | 'uninitialized-read'
  | 'shared-race'
  | 'shared-uninitialized-read'
  | 'shared-out-of-bounds'
  | 'barrier-deadlock'
  | 'warp-collective-deadlock'
  | 'warp-collective-misuse'
  | 'kernel-exception'
  | 'invalid-launch';

export interface EmuReport {
  kind: EmuReportKind;
  kernel: string;
  block: Dim3;
  thread: Dim3;
  /** Hex string, "0x0" when no address applies (deadlocks). */
  address: string;
  bytes: number;
  /** The accessor or collective that triggered it. */
  what: string;
  message: string;
}

export interface EmuSpaceCounters {
  accesses: number;
  bytes: number;
  requests: number;
  /** Global memory only: distinct 32-byte sectors summed over warp requests. */
  sectors?: number;
  sectorsPerRequest?: number;
  /** Shared memory only. */
  wavefronts?: number;
  bankConflicts?: number;
}

export interface EmuCounters {
  blocks: number;
  threads: number;
  barriers: number;
  warpCollectives: number;
  global: { load: EmuSpaceCounters; store: EmuSpaceCounters };
  shared: { load: EmuSpaceCounters; store: EmuSpaceCounters };
  /** Thread-level executions per instruction kind (a full-warp instruction counts 32). */
  instructions: Record<string, number>;
}

export interface EmuLaunch {
  kernel: string;
  grid: Dim3;
  block: Dim3;
  dynamicSmemBytes: number;
  status: 'ok' | 'failed';
  /** cudaError_t name, e.g. "cudaSuccess", "cudaErrorIllegalAddress". */
  error: string;
  osThreads: number;
  wallSeconds: number;
  reports: EmuReport[];
  droppedReports: number;
  counters: EmuCounters;
}
