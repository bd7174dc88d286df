// bin/ is a user of the library: it imports lib/ only through the public face
// (lib/index.ts) or the one internal entry point (lib/internal.ts), so the
// CLI cannot come to lean on a module the library is free to change.
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';

const repo = path.join(__dirname, '..', '..', '..');

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sources(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

t.test('bin/ imports lib/ only by index.ts or internal.ts', async (t) => {
  const files = sources(path.join(repo, 'bin'));
  t.ok(files.length > 10, `bin/ read: ${files.length} files`);
  const reaching: string[] = [];
  for (const file of files) {
    for (const [, spec] of fs.readFileSync(file, 'utf8').matchAll(/from '([^']+)'/g)) {
      const target = path.relative(repo, path.resolve(path.dirname(file), spec));
      if (target.startsWith('lib' + path.sep) && target !== path.join('lib', 'index') && target !== path.join('lib', 'internal')) {
        reaching.push(`${path.relative(repo, file)}: ${spec}`);
      }
    }
  }
  t.same(reaching, []);
});
