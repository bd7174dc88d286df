// Text for a terminal: names kept on one line and in their column, tables aligned.

function octal(c: string): string {
  return '\\' + (c.codePointAt(0) as number).toString(8).padStart(3, '0');
}

/** A path as mountinfo writes it: space, tab, newline, backslash (and other controls) as `\NNN`. */
export function escapeName(name: string): string {
  return name.replace(/[\\ \x00-\x1f\x7f]/g, octal);
}

/** A message on one line: control characters (a newline in a path) as `\NNN`. */
export function oneLine(text: string): string {
  return text.replace(/[\x00-\x1f\x7f]/g, octal);
}

/** Columns padded to their widest cell; the last column is not padded. */
export function formatTable(header: string[], rows: string[][]): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((row) => (row[i] ?? '').length)));
  return all
    .map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] as number))).join('  '))
    .join('\n');
}

/** `lower[0], lower[1], lower[2], upper` as `lower[0-2], upper`. */
export function compactFields(fields: string[]): string {
  const out: string[] = [];
  let run: { name: string; first: number; last: number } | undefined;
  const flush = () => {
    if (run) out.push(run.first === run.last ? `${run.name}[${run.first}]` : `${run.name}[${run.first}-${run.last}]`);
    run = undefined;
  };
  for (const field of fields) {
    const m = /^(\w+)\[(\d+)\]$/.exec(field);
    if (m && run && run.name === m[1] && run.last + 1 === Number(m[2])) {
      run.last++;
      continue;
    }
    flush();
    if (m) run = { name: m[1] as string, first: Number(m[2]), last: Number(m[2]) };
    else out.push(field);
  }
  flush();
  return out.join(', ');
}
