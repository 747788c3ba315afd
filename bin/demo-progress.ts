/** Progress on stderr: notes as lines, and a request counter (redrawn in place on a terminal, every quarter otherwise). */
export class DemoProgress {
  private total = 0;
  private done = 0;
  private timer: NodeJS.Timeout | undefined;
  private lastQuarter = 0;
  private drawn = false;

  constructor(private readonly out: NodeJS.WriteStream) {}

  note(line: string): void {
    this.clear();
    this.out.write(`[demo] ${line}\n`);
    if (this.timer) this.draw();
  }

  startCounting(total: number): void {
    this.total = total;
    this.done = 0;
    this.lastQuarter = 0;
    if (this.out.isTTY) {
      this.timer = setInterval(() => this.draw(), 100);
      this.timer.unref();
    }
  }

  count(): void {
    this.done++;
    if (this.out.isTTY) return;
    const quarter = Math.floor((this.done / this.total) * 4);
    if (quarter > this.lastQuarter) {
      this.lastQuarter = quarter;
      this.out.write(`[demo] ${this.done}/${this.total} requests\n`);
    }
  }

  stopCounting(): void {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = undefined;
    this.draw();
    this.out.write('\n');
    this.drawn = false;
  }

  private draw(): void {
    const width = 30;
    const filled = this.total === 0 ? 0 : Math.round((this.done / this.total) * width);
    this.out.write(`\r[demo] [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${this.done}/${this.total} requests`);
    this.drawn = true;
  }

  private clear(): void {
    if (this.drawn && this.out.isTTY) this.out.write('\r\x1b[2K');
    this.drawn = false;
  }
}
