'use strict';
// Collects result rows and prints them: a readable table per section, or
// with --json one object per line { name, opsPerSec, medianUs, ratioToC }.
const { median } = require('./measure');

class Report {
  constructor({ json }) {
    this.json = json;
    this.rows = [];
    this.notes = [];
  }

  /** Adds a row from per-operation samples (ns); ratio against the C reference's median (ns) of the same run. */
  add(section, name, samplesNs, { referenceNs, runs, extra } = {}) {
    const medianNs = median(samplesNs);
    const row = {
      section,
      name,
      opsPerSec: round(1e9 / medianNs, 1),
      medianUs: round(medianNs / 1000, 2),
      ratioToC: referenceNs ? round(medianNs / referenceNs, 3) : null,
      runs,
      ...extra,
    };
    this.rows.push(row);
    if (this.json) {
      const { section: _s, runs: _r, ...line } = row;
      process.stdout.write(JSON.stringify(line) + '\n');
    }
    return row;
  }

  /** A line for the reader: what ran, what was skipped and why. JSON mode sends it to stderr. */
  note(text) {
    this.notes.push(text);
    (this.json ? process.stderr : process.stdout).write(text + '\n');
  }

  printTables() {
    if (this.json) return;
    const sections = [...new Set(this.rows.map((r) => r.section))];
    for (const section of sections) {
      const rows = this.rows.filter((r) => r.section === section);
      const extraKeys = [...new Set(rows.flatMap((r) => Object.keys(r).filter((k) => !BASE_KEYS.has(k))))];
      const header = ['name', 'median µs', 'ops/s', 'ratio to C', 'runs', ...extraKeys];
      const body = rows.map((r) => [
        r.name,
        r.medianUs.toFixed(2),
        r.opsPerSec.toFixed(0),
        r.ratioToC === null ? '-' : `${r.ratioToC.toFixed(2)}x`,
        r.runs || '',
        ...extraKeys.map((k) => (r[k] === undefined ? '' : String(r[k]))),
      ]);
      process.stdout.write(`\n${section}\n${markdownTable(header, body)}\n`);
    }
  }
}

const BASE_KEYS = new Set(['section', 'name', 'opsPerSec', 'medianUs', 'ratioToC', 'runs']);

function round(value, digits) {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

function markdownTable(header, body) {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => String(row[i]).length)));
  const line = (cells) => '| ' + cells.map((c, i) => String(c).padEnd(widths[i])).join(' | ') + ' |';
  return [line(header), '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|', ...body.map(line)].join('\n');
}

module.exports = { Report };
