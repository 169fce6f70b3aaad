/**
 * Progress on stderr while the bench runs (stdout is kept for the final report). On a terminal
 * one status line is redrawn in place with a spinner; otherwise (CI logs) a line is printed
 * when the step changes and at most every few seconds while it counts.
 */

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const LOG_INTERVAL_MS = 5_000;

export class Progress {
  private readonly tty = process.stderr.isTTY === true;
  private readonly startedAt = performance.now();
  private part = '';
  private stepText = '';
  private counter = '';
  private frame = 0;
  private lastLog = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly partCount: number) {
    if (this.tty) {
      this.timer = setInterval(() => this.redraw(), 120);
      this.timer.unref();
    }
  }

  /** Starts part `index` (1-based). */
  startPart(index: number, title: string): void {
    this.part = `[${index}/${this.partCount}] ${title}`;
    this.step('');
  }

  /** A new step inside the current part. */
  step(text: string): void {
    this.stepText = text;
    this.counter = '';
    if (this.tty) this.redraw();
    else if (text !== '') this.log();
  }

  /** Advances a counter of the current step. */
  tick(done: number, total: number, unit = ''): void {
    this.counter = `${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')}${unit ? ` ${unit}` : ''}`;
    if (this.tty) return;
    if (performance.now() - this.lastLog >= LOG_INTERVAL_MS) this.log();
  }

  /** A line that stays (a finished part, a warning). */
  note(text: string): void {
    if (this.tty) process.stderr.write('\r\x1b[K');
    process.stderr.write(`${text}\n`);
    if (this.tty) this.redraw();
  }

  done(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    if (this.tty) process.stderr.write('\r\x1b[K');
  }

  private elapsed(): string {
    return `${Math.round((performance.now() - this.startedAt) / 1000)} s`;
  }

  private line(): string {
    return [this.part, this.stepText, this.counter].filter(Boolean).join(' · ');
  }

  private redraw(): void {
    this.frame = (this.frame + 1) % FRAMES.length;
    const text = `${FRAMES[this.frame]} ${this.elapsed().padStart(5)}  ${this.line()}`;
    const width = process.stderr.columns ?? 120;
    process.stderr.write(`\r\x1b[K${text.slice(0, width - 1)}`);
  }

  private log(): void {
    this.lastLog = performance.now();
    process.stderr.write(`${this.elapsed().padStart(5)}  ${this.line()}\n`);
  }
}
