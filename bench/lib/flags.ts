// The benches' command lines: numbers through bench/lib/cli.ts's numberFlag, plus
// comma-separated choices (--scenarios kill,hung --policies natkeeper) and a check that
// refuses unknown flags.
import { numberFlag } from './cli.js';

/** `--name a,b` → ['a', 'b'] checked against `allowed`; every allowed value when absent. */
export function listFlag<T extends string>(name: string, allowed: readonly T[], argv: readonly string[] = process.argv): T[] {
  const i = argv.indexOf(name);
  if (i < 0) return [...allowed];
  const raw = (argv[i + 1] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const bad = raw.filter((v) => !allowed.includes(v as T));
  if (bad.length || !raw.length) throw new Error(`${name}: expected a comma-separated list of ${allowed.join(', ')}; got "${argv[i + 1] ?? ''}"`);
  return allowed.filter((a) => raw.includes(a));
}

/** numberFlag with a default and bounds (out-of-range values are clamped). */
export function boundedNumberFlag(name: string, fallback: number, min: number, max: number, argv: readonly string[] = process.argv): number {
  return Math.max(min, Math.min(max, numberFlag(name, argv) ?? fallback));
}

/**
 * Refuses what is not one of `known` (`--flag value` pairs): a typo must not start a
 * 50-minute run with defaults. --help prints the flags. Returns the exit code to stop
 * with, or undefined to go on.
 */
export function checkFlags(bench: string, known: readonly string[], usage: string, argv: readonly string[] = process.argv.slice(2)): number | undefined {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(usage);
    return 0;
  }
  for (let i = 0; i < argv.length; i += 2) {
    if (!known.includes(argv[i]!) || argv[i + 1] === undefined) {
      console.error(`${bench}: ${known.includes(argv[i]!) ? `${argv[i]} needs a value` : `unknown flag ${JSON.stringify(argv[i])}`}\n${usage}`);
      return 2;
    }
  }
  return undefined;
}
