/**
 * A hand-written SVG chart of latency distributions: one percentile curve per configuration, the percentile on a
 * "nines" axis (0, 90, 99, 99.9 equally spaced, so the tail gets room) and latency on a log axis.
 */

export interface Series {
  name: string;
  /** Latencies in ms, sorted ascending. */
  sorted: readonly number[];
  /** A third legend line, e.g. how busy the machine was during this run. */
  note?: string;
}

const COLORS = ['#1b6ac9', '#d6402b', '#2a9d4b', '#8a4fc7', '#d08a00', '#555555'];
const WIDTH = 820;
const HEIGHT = 440;
const MARGIN = { left: 70, right: 250, top: 46, bottom: 56 };
const MAX_NINES = 3; // p99.9

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The latency at percentile p (0–100) of sorted samples, as the load generator computes it. */
function at(sorted: readonly number[], p: number): number {
  const rank = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, rank)]!;
}

const percentileOfNines = (nines: number): number => 100 * (1 - 10 ** -nines);

export function latencyChart(title: string, subtitle: string, series: readonly Series[]): string {
  const plotted = series.filter((s) => s.sorted.length > 0);
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const steps = 240;
  const curves = plotted.map((s) =>
    Array.from({ length: steps + 1 }, (_, i) => {
      const nines = (i / steps) * MAX_NINES;
      return { nines, ms: Math.max(0.1, at(s.sorted, percentileOfNines(nines))) };
    }),
  );
  const all = curves.flat().map((point) => point.ms);
  const lowDecade = Math.floor(Math.log10(Math.min(...all, 1)));
  const highDecade = Math.ceil(Math.log10(Math.max(...all, 10)));
  const x = (nines: number) => MARGIN.left + (nines / MAX_NINES) * plotW;
  const y = (ms: number) => MARGIN.top + plotH - ((Math.log10(ms) - lowDecade) / (highDecade - lowDecade)) * plotH;

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    `<text x="${MARGIN.left}" y="20" font-size="15" font-weight="bold">${escape(title)}</text>`,
    `<text x="${MARGIN.left}" y="37" fill="#555">${escape(subtitle)}</text>`,
  );
  // Horizontal grid: every 1-2-5 step of each decade, labelled.
  for (let decade = lowDecade; decade <= highDecade; decade++) {
    for (const m of [1, 2, 5]) {
      const ms = m * 10 ** decade;
      if (Math.log10(ms) > highDecade + 1e-9) continue;
      const yy = y(ms).toFixed(1);
      const major = m === 1;
      out.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${yy}" y2="${yy}" stroke="${major ? '#c8c8c8' : '#ececec'}"/>`);
      const label = ms >= 1 ? String(ms) : ms.toFixed(-decade);
      out.push(`<text x="${MARGIN.left - 6}" y="${yy}" dy="4" text-anchor="end" fill="#333">${label}</text>`);
    }
  }
  // Vertical grid: p0, p50, p90, p99, p99.9.
  for (const [nines, label] of [
    [0, 'p0'],
    [Math.log10(2), 'p50'],
    [1, 'p90'],
    [2, 'p99'],
    [3, 'p99.9'],
  ] as const) {
    const xx = x(nines).toFixed(1);
    out.push(`<line x1="${xx}" x2="${xx}" y1="${MARGIN.top}" y2="${MARGIN.top + plotH}" stroke="#d8d8d8"/>`);
    out.push(`<text x="${xx}" y="${MARGIN.top + plotH + 16}" text-anchor="middle" fill="#333">${label}</text>`);
  }
  out.push(
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#888"/>`,
    `<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 14}" text-anchor="middle" fill="#333">percentile (log scale of 1/(1−p): each step right is one more nine)</text>`,
    `<text transform="translate(18 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle" fill="#333">latency, ms (log scale)</text>`,
  );
  curves.forEach((curve, i) => {
    const color = COLORS[i % COLORS.length]!;
    const d = curve.map((p, j) => `${j === 0 ? 'M' : 'L'}${x(p.nines).toFixed(1)},${y(p.ms).toFixed(1)}`).join(' ');
    out.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"/>`);
    const s = plotted[i]!;
    const ly = MARGIN.top + 8 + i * 54;
    const lx = MARGIN.left + plotW + 14;
    out.push(
      `<line x1="${lx}" x2="${lx + 20}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="3"/>`,
      `<text x="${lx + 26}" y="${ly}" dy="4" fill="#222">${escape(s.name)}</text>`,
      `<text x="${lx + 26}" y="${ly + 16}" dy="4" fill="#666" font-size="11">p50 ${at(s.sorted, 50).toFixed(1)} · p99 ${at(s.sorted, 99).toFixed(1)} ms</text>`,
    );
    if (s.note) out.push(`<text x="${lx + 26}" y="${ly + 30}" dy="4" fill="#666" font-size="11">${escape(s.note)}</text>`);
  });
  out.push('</svg>', '');
  return out.join('\n');
}
