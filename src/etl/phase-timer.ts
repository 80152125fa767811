/**
 * STRATA_TIMING=1 prints how long each phase of a run took (wall and process CPU, which
 * includes DuckDB's threads), on stderr: the first place to look when a run is slow.
 */
export function phaseTimer(scope: string): (name: string) => void {
  if (!process.env.STRATA_TIMING) return () => undefined;
  let wall = performance.now();
  let cpu = process.cpuUsage();
  return (name) => {
    const used = process.cpuUsage(cpu);
    const now = performance.now();
    process.stderr.write(`strata: timing ${scope} ${name} ${Math.round(now - wall)} ms (cpu ${Math.round((used.user + used.system) / 1000)} ms)\n`);
    wall = now;
    cpu = process.cpuUsage();
  };
}
