// The table `calicoctl node status` prints, to the byte: calicoctl renders it with the Go
// tablewriter package left at its defaults, and operators' scripts parse that text. The defaults
// reproduced here:
// - `+`/`-`/`|` borders, one space of padding either side of every cell, a border line above and
//   below the header and after the last row;
// - header cells centred (the extra space of an odd gap goes to the right);
// - body cells left-aligned, except a cell that is a plain decimal number, which is right-aligned;
// - a cell wider than 30 columns is wrapped on its spaces into lines of at most 30 (a single word
//   longer than that keeps its own line and widens the column), the breaks chosen for minimum
//   raggedness, not greedily; such a column is then 30 wide even when every line is shorter, and
//   the other cells of a wrapped row continue with blank lines.

const WRAP_AT = 30;
/** Added to the cost of a line that is longer than the limit (only a single over-long word). */
const OVERLONG_PENALTY = 100_000;
const DECIMAL = /^-?(?:\d{1,3}(?:,\d{3})*|\d+)(?:\.\d+)?$/;

/** Display width: one column per code point (the status text is ASCII). */
function width(text: string): number {
  return [...text].length;
}

/**
 * Splits words into lines of at most `limit` columns (a space between words) so that the sum over
 * every line but the last of (limit − length)² is least; a line over the limit costs the penalty
 * on top. The last line is free, so a text that fits is one line.
 */
export function wrapWords(words: readonly string[], limit: number): string[][] {
  const n = words.length;
  const lineLength = (from: number, to: number) =>
    words.slice(from, to).reduce((sum, w) => sum + width(w), 0) + (to - from - 1);
  const cost = new Array<number>(n + 1).fill(0);
  const next = new Array<number>(n).fill(n);
  for (let i = n - 1; i >= 0; i--) {
    if (lineLength(i, n) <= limit) {
      cost[i] = 0;
      next[i] = n;
      continue;
    }
    cost[i] = Number.POSITIVE_INFINITY;
    for (let j = i + 1; j < n; j++) {
      const len = lineLength(i, j);
      const c = (limit - len) ** 2 + (cost[j] ?? 0) + (len > limit ? OVERLONG_PENALTY : 0);
      if (c < (cost[i] ?? 0)) {
        cost[i] = c;
        next[i] = j;
      }
    }
  }
  const lines: string[][] = [];
  for (let i = 0; i < n; i = next[i] ?? n) lines.push(words.slice(i, next[i]));
  return lines;
}

/** A cell's lines and the width it asks of its column. */
function layOut(text: string): { lines: string[]; width: number } {
  const paragraphs = text.split('\n');
  const widest = Math.max(...paragraphs.map(width));
  const limit = Math.min(widest, WRAP_AT);
  const lines: string[] = [];
  let need = limit;
  for (const para of paragraphs) {
    // Words are what single spaces separate, so runs of spaces keep empty words, as the original.
    const words = para.split(' ');
    const paraLimit = Math.max(limit, ...words.map(width));
    for (const line of wrapWords(words, paraLimit)) {
      const joined = line.join(' ');
      lines.push(joined);
      need = Math.max(need, width(joined));
    }
  }
  return { lines, width: need };
}

function centre(text: string, w: number): string {
  const gap = w - width(text);
  const left = Math.floor(gap / 2);
  return `${' '.repeat(left)}${text}${' '.repeat(gap - left)}`;
}

function align(text: string, w: number): string {
  const pad = ' '.repeat(Math.max(0, w - width(text)));
  return DECIMAL.test(text.trim()) ? `${pad}${text}` : `${text}${pad}`;
}

/** The rendered table, every line ending in a newline. Headers are shown upper-case. */
export function renderCalicoTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const head = headers.map((h) => layOut(h.replaceAll('_', ' ').trim().toUpperCase()));
  const body = rows.map((r) => headers.map((_, i) => layOut(r[i] ?? '')));
  const widths = headers.map((_, i) =>
    Math.max(head[i]?.width ?? 0, ...body.map((cells) => cells[i]?.width ?? 0)),
  );
  const border = `+${widths.map((w) => '-'.repeat(w + 2)).join('+')}+\n`;
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |\n`;
  const block = (cells: readonly { lines: string[] }[], pad: (t: string, w: number) => string) => {
    const height = Math.max(...cells.map((c) => c.lines.length));
    let out = '';
    for (let k = 0; k < height; k++) out += line(cells.map((c, i) => pad(c.lines[k] ?? '', widths[i] ?? 0)));
    return out;
  };
  let out = border + block(head, centre) + border;
  for (const cells of body) out += block(cells, align);
  return out + border;
}
