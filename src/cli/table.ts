/**
 * Plain-text tables for the terminal: each column as wide as its widest cell, text columns
 * left-aligned and figure columns right-aligned, so that a long name (a segment file after many
 * writes, a stage label with a budget, a feature name) never pushes its row out of line. A last
 * left-aligned column is not padded (no trailing spaces).
 */
export type Align = 'left' | 'right';

/** One line per row; `align[c]` aligns column c (rows may be ragged: a missing cell is empty). */
export function formatTable(rows: ReadonlyArray<ReadonlyArray<string>>, align: readonly Align[], options: { indent?: string; gap?: string } = {}): string[] {
  const indent = options.indent ?? '';
  const gap = options.gap ?? '  ';
  // Widths in code points, as eval's table counts them (a token outside the BMP is one character).
  const width = (v: string): number => [...v].length;
  const widths = align.map((_, c) => Math.max(0, ...rows.map((r) => width(r[c] ?? ''))));
  return rows.map(
    (r) =>
      indent +
      align
        .map((a, c) => {
          const v = r[c] ?? '';
          const fill = ' '.repeat(widths[c]! - width(v));
          if (a === 'right') return fill + v;
          return c === align.length - 1 ? v : v + fill;
        })
        .join(gap),
  );
}
