// ovl unpack as a user runs it: an archive from a file and from stdin, the
// references printed one a line, --json, and its usage errors.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import t from 'tap';
import { OVL, ovl, stderrJson } from '../helpers/cli';
import { nodeCommand } from '../helpers/child-env';
import { archive, dockerArchiveFiles, ociLayoutFiles } from './builders/image-archives';
import { needsRoot } from '../helpers/layer';
import { scratch } from '../helpers/scratch';
import { sha256, tar } from './builders/tar-writer';

const layer = tar([{ name: 'etc/a', content: 'a' }, { name: 'etc/.wh.b', content: '' }]);

t.test('ovl unpack ARCHIVE and ovl unpack - print each reference stored', needsRoot, async (t) => {
  const s = scratch(t);
  fs.writeFileSync(s.path('d.tar'), archive(dockerArchiveFiles([{ ref: 'example.com/a:1', layers: [layer] }, { ref: 'example.com/b:2', layers: [layer] }])));
  const r = ovl(['unpack', s.path('d.tar'), '--store', s.path('store')]);
  t.equal(r.status, 0, r.stderr);
  t.equal(r.stdout, 'example.com/a:1\nexample.com/b:2\n');
  const input = archive(ociLayoutFiles([{ ref: 'example.com/c:3', layers: [layer] }]));
  const piped = spawnSync(...nodeCommand([OVL, 'unpack', '--json', '--store', s.path('store'), '-']), { input, encoding: 'utf8' });
  t.equal(piped.status, 0, piped.stderr);
  t.same(JSON.parse(piped.stdout), { refs: ['example.com/c:3'], layers: [{ diffId: `sha256:${sha256(layer)}`, path: s.path('store', 'layers', sha256(layer)), added: false }] });
});

t.test('ovl unpack: usage errors and a refused archive', async (t) => {
  const s = scratch(t);
  t.match(ovl(['unpack', 'x']), { status: 1, stderr: /--store is missing/ });
  t.match(ovl(['unpack', '--store', s.path('st')]), { status: 1, stderr: /ARCHIVE is missing/ });
  t.match(ovl(['unpack', '--store', s.path('st'), 'a', 'b']), { status: 1, stderr: /too many arguments/ });
  fs.writeFileSync(s.path('bad.tar'), tar([{ name: 'hello', content: 'x' }]));
  t.match(stderrJson(ovl(['unpack', '--json', '--store', s.path('st'), s.path('bad.tar')])), { command: 'unpack', field: 'archive', exitCode: 1 });
});
