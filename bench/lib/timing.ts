/** Milliseconds of `rounds` runs of `fn`, after one run to warm up (caches, JIT, model arenas). */
export async function timeRuns(fn: () => Promise<unknown>, rounds: number): Promise<number[]> {
  await fn();
  const ms: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t = performance.now();
    await fn();
    ms.push(performance.now() - t);
  }
  return ms;
}
