// The docs keep step with the code: every name index.d.ts exports is
// documented in the API reference (docs/api.md), and every relative link
// between the docs names a file (and a heading) that exists.
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';

const root = path.join(__dirname, '..', '..', '..');
const API = path.join(root, 'docs', 'api.md');
/** Every page of the docs: the README, docs/, CONTRIBUTING.md and the bench's. */
const PAGES = ['README.md', 'CONTRIBUTING.md', path.join('bench', 'README.md'), ...fs.readdirSync(path.join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => path.join('docs', f))];

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

t.test('every export is documented in docs/api.md', async (t) => {
  const names = exportedNames(fs.readFileSync(path.join(root, 'dist', 'lib', 'index.d.ts'), 'utf8'));
  t.ok(names.length > 10, `found ${names.length} exports`);
  const api = fs.readFileSync(API, 'utf8');
  t.ok(api.length > 0, 'docs/api.md has the API reference');
  t.match(fs.readFileSync(path.join(root, 'README.md'), 'utf8'), /\]\(docs\/api\.md\)/, 'the README links it');
  const missing = names.filter((n) => !api.includes('`' + n));
  t.same(missing, [], 'undocumented exports');
});

t.test('the runtime exports are the declared ones', async (t) => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const runtime = Object.keys(require(path.join(root, 'dist', 'lib', 'index.js'))).filter((n) => n !== '__esModule');
  const declared = exportedNames(fs.readFileSync(path.join(root, 'dist', 'lib', 'index.d.ts'), 'utf8'));
  t.same(runtime.filter((n) => !declared.includes(n)), [], 'nothing exported that is not declared');
});

t.test('every field of kernelFeatures() and of an OverlayError is documented in docs/api.md', async (t) => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const lib = require(path.join(root, 'dist', 'lib', 'index.js')) as typeof import('../../lib/index');
  const api = fs.readFileSync(API, 'utf8');
  const features = Object.keys(lib.kernelFeatures());
  t.ok(features.includes('fsopenErrno'), 'fsopenErrno is a field');
  t.same(features.filter((n) => !api.includes('`' + n + '`')), [], 'kernelFeatures() fields not documented');
  const err = new lib.OverlayError({ errno: 22, syscall: 'fsconfig', path: '/p', field: 'upper', reason: 'r', detail: ['d'] });
  const fields = Object.keys(err).filter((n) => n !== 'name');
  t.ok(fields.includes('detail'), 'detail is a field');
  t.same(fields.filter((n) => !api.includes('`' + n + '`')), [], 'OverlayError fields not documented');
  // What detail holds, said where OverlayError is described.
  t.match(section(api, '## `OverlayError`'), /`detail` \(a `string\[\]`: the kernel's own words/);
});

/** A heading's anchor as GitHub makes it: lower case, punctuation dropped, each space a hyphen. */
function anchorOf(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\p{M}\s_-]/gu, '').replace(/ /g, '-');
}

/** The anchors of a page's headings (a repeated one gets -1, -2, ... as on GitHub). */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  for (const match of withoutCode(markdown).matchAll(/^#{1,6} (.+)$/gm)) {
    const base = anchorOf(match[1] as string);
    let anchor = base;
    for (let n = 1; anchors.has(anchor); n++) anchor = `${base}-${n}`;
    anchors.add(anchor);
  }
  return anchors;
}

/** The page without its fenced code blocks, where a `](...)` or a `# ` line is not markdown. */
function withoutCode(markdown: string): string {
  return markdown.replace(/^```[^\n]*\n[\s\S]*?^```$/gm, '');
}

/** The relative links of a page: `[text](target)`, with no scheme, outside code (a link's text may hold code). */
function relativeLinks(markdown: string): string[] {
  const links = [...withoutCode(markdown).replace(/`[^`\n]*`/g, '').matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1] as string);
  return links.filter((l) => !/^[a-z][a-z0-9+.-]*:/i.test(l));
}

t.test('every relative link between the docs names an existing file and heading', async (t) => {
  t.ok(PAGES.includes(path.join('docs', 'api.md')) && PAGES.length >= 6, `pages: ${PAGES.join(', ')}`);
  const broken: string[] = [];
  let checked = 0;
  for (const page of PAGES) {
    const text = fs.readFileSync(path.join(root, page), 'utf8');
    for (const link of relativeLinks(text)) {
      checked++;
      const [file, anchor] = link.split('#') as [string, string | undefined];
      const target = file === '' ? path.join(root, page) : path.resolve(root, path.dirname(page), file);
      if (!fs.existsSync(target)) broken.push(`${page}: ${link} (no such file)`);
      else if (anchor !== undefined && target.endsWith('.md') && !anchorsOf(fs.readFileSync(target, 'utf8')).has(anchor)) {
        broken.push(`${page}: ${link} (no such heading)`);
      }
    }
  }
  t.ok(checked > 20, `${checked} links checked`);
  t.same(broken, [], 'broken links');
});

t.test('the link check itself: anchors and links as GitHub reads them', async (t) => {
  t.equal(anchorOf('`replace(target, options)` / `replaceSync(target, options)`'), 'replacetarget-options--replacesynctarget-options');
  t.equal(anchorOf('Layer tools: `changes`, `fromOci`, `toOci`'), 'layer-tools-changes-fromoci-tooci');
  t.same([...anchorsOf('# A\n## B c\n```\n# not a heading\n```\n## B c\n')], ['a', 'b-c', 'b-c-1']);
  t.same(relativeLinks('[a](x.md) [b](https://e.org/) [c](#h) `[d](code)`\n```\n[e](in-a-block.md)\n```\n'), ['x.md', '#h']);
  t.same(relativeLinks('[`replace`](api.md#replace)'), ['api.md#replace']);
});
