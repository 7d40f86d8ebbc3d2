/** Latency samples in milliseconds with exact percentiles (sorted once; fine for a few million samples). */
export class Samples {
  #values: number[] = [];
  #sorted = true;

  add(ms: number): void {
    this.#values.push(ms);
    this.#sorted = false;
  }

  get count(): number {
    return this.#values.length;
  }

  percentile(p: number): number {
    if (this.#values.length === 0) return Number.NaN;
    if (!this.#sorted) {
      this.#values.sort((a, b) => a - b);
      this.#sorted = true;
    }
    const rank = Math.min(this.#values.length - 1, Math.ceil((p / 100) * this.#values.length) - 1);
    return this.#values[Math.max(0, rank)]!;
  }

  max(): number {
    return this.percentile(100);
  }

  /** The sorted samples (for charts). */
  sorted(): readonly number[] {
    this.percentile(50);
    return this.#values;
  }
}

export class Tally {
  readonly counts = new Map<string, number>();
  add(key: string): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }
  get total(): number {
    let sum = 0;
    for (const n of this.counts.values()) sum += n;
    return sum;
  }
  /** "00 91.2%, 51 8.8%" */
  format(): string {
    const total = this.total || 1;
    return [...this.counts.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([k, n]) => `${k} ${((100 * n) / total).toFixed(1)}%`)
      .join(', ');
  }
}
