/** Heap readings for benchmarks: a GC before each reading so garbage does not count. */
import v8 from 'node:v8';
import vm from 'node:vm';

let gcFn: (() => void) | null = null;

export function forceGc(): void {
  if (gcFn === null) {
    const exposed = (globalThis as { gc?: () => void }).gc;
    if (typeof exposed === 'function') gcFn = exposed;
    else {
      v8.setFlagsFromString('--expose-gc');
      gcFn = vm.runInNewContext('gc') as () => void;
    }
  }
  gcFn();
  gcFn();
}

export function heapUsed(): number {
  return process.memoryUsage().heapUsed;
}

export function rssBytes(): number {
  return process.memoryUsage.rss();
}
