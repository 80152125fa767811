// Preloaded into a benchmarked process: reports its peak resident memory (DuckDB's included).
import { writeSync } from 'node:fs';
process.on('exit', () => writeSync(2, `\nPEAK_RSS_KB ${process.resourceUsage().maxRSS}\n`));
