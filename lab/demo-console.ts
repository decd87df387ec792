// The demo's output: event lines, plus one live status line. On a terminal the live
// line is redrawn in place about every second (under the events); in a plain log
// (stdout not a TTY) it is printed as an ordinary line when it changes, and at least
// every PLAIN_REPEAT_MS, so a captured log still shows progress without 200 copies.

const PLAIN_REPEAT_MS = 10_000;
const CLEAR_LINE = '\r\x1b[K';

export class DemoConsole {
  private readonly tty = process.stdout.isTTY === true;
  private live = '';
  private lastPlain = '';
  private lastPlainAt = 0;
  private readonly startedAt = performance.now();

  /** Seconds since the demo started, as "+12.3s". */
  elapsed(): string {
    return `+${((performance.now() - this.startedAt) / 1000).toFixed(1)}s`;
  }

  /** An event line (the live line, on a terminal, moves below it). */
  say(text = ''): void {
    if (this.tty && this.live) process.stdout.write(CLEAR_LINE);
    process.stdout.write(`${text}\n`);
    if (this.tty && this.live) process.stdout.write(this.fit(this.live));
  }

  step(n: number | string, text: string): void {
    this.say();
    this.say(this.tty ? `\x1b[1m${n}. ${text}\x1b[0m` : `${n}. ${text}`);
  }

  /** Replaces the live status line. */
  setLive(line: string): void {
    this.live = line;
    if (this.tty) {
      process.stdout.write(CLEAR_LINE + this.fit(line));
      return;
    }
    const now = performance.now();
    if (line === this.lastPlain && now - this.lastPlainAt < PLAIN_REPEAT_MS) return;
    this.lastPlain = line;
    this.lastPlainAt = now;
    process.stdout.write(`  [live ${this.elapsed()}] ${line}\n`);
  }

  /** Removes the live line (before tables and the end). */
  clearLive(): void {
    if (this.tty && this.live) process.stdout.write(CLEAR_LINE);
    this.live = '';
  }

  /** On a terminal the line must not wrap, or the redraw leaves copies behind. */
  private fit(line: string): string {
    const width = process.stdout.columns || 160; // 0 on a pty without a size
    return line.length < width ? line : `${line.slice(0, width - 2)}…`;
  }
}
