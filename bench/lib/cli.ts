// What every benchmark entry point needs from its command line.
import { fileURLToPath } from 'node:url';

/** A numeric `--name value` flag, or undefined when absent or not a number. */
export function numberFlag(name: string, argv: readonly string[] = process.argv): number | undefined {
  const i = argv.indexOf(name);
  const v = i >= 0 ? Number(argv[i + 1]) : NaN;
  return Number.isFinite(v) ? v : undefined;
}

/** True when the module at `moduleUrl` is the script node was started with. */
export function isMainModule(moduleUrl: string): boolean {
  return process.argv[1] !== undefined && fileURLToPath(moduleUrl) === process.argv[1];
}
