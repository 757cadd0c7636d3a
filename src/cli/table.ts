// calicoctl-style ASCII tables: +----+ borders, centred headers, one row per line.

export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const border = `+${widths.map((w) => '-'.repeat(w + 2)).join('+')}+`;
  const centre = (text: string, w: number) => {
    const left = Math.floor((w - text.length) / 2);
    return `${' '.repeat(left)}${text}${' '.repeat(w - text.length - left)}`;
  };
  const line = (cells: readonly string[], align: (t: string, w: number) => string) =>
    `| ${cells.map((c, i) => align(c, widths[i] ?? 0)).join(' | ')} |`;
  const out = [border, line(headers, centre), border];
  for (const r of rows) out.push(line(r, (t, w) => t.padEnd(w)));
  out.push(border);
  return out.join('\n');
}
