// The README's API reference keeps step with the declarations: every name
// index.d.ts exports is documented in the "## API" section.
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';

const root = path.join(__dirname, '..', '..', '..');

function exportedNames(declarations: string): string[] {
  const names: string[] = [];
  for (const match of declarations.matchAll(/export\s+(?:type\s+)?\{([^}]*)\}/g)) {
    for (const item of (match[1] as string).split(',')) {
      const name = item.trim().replace(/^type\s+/, '').split(/\s+as\s+/).pop();
      if (name) names.push(name);
    }
  }
  return [...new Set(names)].sort();
}

function section(markdown: string, heading: string): string {
  const start = markdown.indexOf(`\n${heading}\n`);
  if (start < 0) return '';
  // A section ends at the next heading of its level or above.
  const level = heading.split(' ')[0] as string;
  const ends = ['\n## ', ...(level === '###' ? ['\n### '] : [])].map((h) => markdown.indexOf(h, start + heading.length + 2)).filter((i) => i >= 0);
  return markdown.slice(start, ends.length ? Math.min(...ends) : undefined);
}

t.test('every export is documented under ## API', async (t) => {
  const names = exportedNames(fs.readFileSync(path.join(root, 'dist', 'lib', 'index.d.ts'), 'utf8'));
  t.ok(names.length > 10, `found ${names.length} exports`);
  const api = section(fs.readFileSync(path.join(root, 'README.md'), 'utf8'), '## API');
  t.ok(api.length > 0, 'README has an ## API section');
  const missing = names.filter((n) => !api.includes('`' + n));
  t.same(missing, [], 'undocumented exports');
});

t.test('the runtime exports are the declared ones', async (t) => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const runtime = Object.keys(require(path.join(root, 'dist', 'lib', 'index.js'))).filter((n) => n !== '__esModule');
  const declared = exportedNames(fs.readFileSync(path.join(root, 'dist', 'lib', 'index.d.ts'), 'utf8'));
  t.same(runtime.filter((n) => !declared.includes(n)), [], 'nothing exported that is not declared');
});

t.test('every field of kernelFeatures() and of an OverlayError is documented under ## API', async (t) => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const lib = require(path.join(root, 'dist', 'lib', 'index.js')) as typeof import('../../lib/index');
  const api = section(fs.readFileSync(path.join(root, 'README.md'), 'utf8'), '## API');
  const features = Object.keys(lib.kernelFeatures());
  t.ok(features.includes('fsopenErrno'), 'fsopenErrno is a field');
  t.same(features.filter((n) => !api.includes('`' + n + '`')), [], 'kernelFeatures() fields not documented');
  const err = new lib.OverlayError({ errno: 22, syscall: 'fsconfig', path: '/p', field: 'upper', reason: 'r', detail: ['d'] });
  const fields = Object.keys(err).filter((n) => n !== 'name');
  t.ok(fields.includes('detail'), 'detail is a field');
  t.same(fields.filter((n) => !api.includes('`' + n + '`')), [], 'OverlayError fields not documented');
  // What detail holds, said where OverlayError is described.
  t.match(section(api, '### `OverlayError`'), /`detail` \(a `string\[\]`: the kernel's own words/);
});
