/** Types for recorder.mjs (plain JS so peers run without tsx). */
export interface BenchWorkerSettings {
  system: string;
  redisUrl: string;
  queues: string[];
  maxSeq: number;
  latency: boolean;
  sampleMs: number;
  concurrency: number | null;
  prefetch: number;
  logLevel: string;
  logFile: string;
  /** ours-base: the other checkout's dist/ to load the worker from. */
  distDir?: string;
}
export interface BenchSystem {
  init(record: (seq: number, t0: number) => void, cfg: BenchWorkerSettings): Promise<void>;
  go(): void | Promise<void>;
  stop(): Promise<void>;
}
export const monoMs: () => number;
export function settings(): BenchWorkerSettings;
export function runBenchWorker(system: BenchSystem): Promise<void>;
