// ovl commit and ovl save as a user runs them: commit prints the reference
// and the manifest (--json: the result; --compression none and zstd), save writes a file or stdout (-)
// that ovl unpack - reads back; their usage errors.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import t from 'tap';
import { OVL, ovl, stderrJson } from '../helpers/cli';
import { nodeCommand } from '../helpers/child-env';
import { mountedChangedStack } from './builders/committed-stack';
import { needsOverlay, scratch } from '../helpers/scratch';

t.test('ovl commit, then ovl save - piped into ovl unpack -', needsOverlay, async (t) => {
  const s = scratch(t);
  const store = s.path('store');
  const target = await mountedChangedStack(t, s, store);
  const r = ovl(['commit', '--store', store, '--ref', 'example.com/cli:1', target]);
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /^example\.com\/cli:1 sha256:[0-9a-f]{64}\n$/);
  const j = ovl(['commit', '--json', '--compression', 'none', '--store', store, '--ref', 'example.com/cli:2', target]);
  t.equal(j.status, 0, j.stderr);
  t.match(JSON.parse(j.stdout), { ref: 'example.com/cli:2', layer: { mediaType: 'application/vnd.oci.image.layer.v1.tar' }, base: /^sha256:/ });
  const z = ovl(['commit', '--json', '--compression', 'zstd', '--store', store, '--ref', 'example.com/cli:3', target]);
  t.equal(z.status, 0, z.stderr);
  t.match(JSON.parse(z.stdout), { ref: 'example.com/cli:3', layer: { mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd' } });
  const zSaved = spawnSync(...nodeCommand([OVL, 'save', '--format', 'oci-archive', `${store}:example.com/cli:3`, '-']), { maxBuffer: 64 << 20 });
  t.equal(zSaved.status, 0, String(zSaved.stderr));
  const zBack = spawnSync(...nodeCommand([OVL, 'unpack', '--store', s.path('fresh-zstd'), '-']), { input: zSaved.stdout, encoding: 'utf8' });
  t.equal(zBack.status, 0, zBack.stderr);
  t.equal(zBack.stdout, 'example.com/cli:3\n', 'a zstd layer through a pipe into ovl unpack -');
  const saved = spawnSync(...nodeCommand([OVL, 'save', '--format', 'oci-archive', `${store}:example.com/cli:1`, '-']), { maxBuffer: 64 << 20 });
  t.equal(saved.status, 0, String(saved.stderr));
  const back = spawnSync(...nodeCommand([OVL, 'unpack', '--store', s.path('fresh'), '-']), { input: saved.stdout, encoding: 'utf8' });
  t.equal(back.status, 0, back.stderr);
  t.equal(back.stdout, 'example.com/cli:1\n');
  const file = ovl(['save', '--json', '--format', 'docker-archive', `${store}:example.com/cli:2`, s.path('d.tar')]);
  t.equal(file.status, 0, file.stderr);
  t.match(JSON.parse(file.stdout), { ref: 'example.com/cli:2', format: 'docker-archive', size: fs.statSync(s.path('d.tar')).size });
});

t.test('ovl commit and ovl save: usage errors and refusals', async (t) => {
  const s = scratch(t);
  t.match(ovl(['commit', '--ref', 'a:1', 'x']), { status: 1, stderr: /--store is missing/ });
  t.match(ovl(['commit', '--store', s.path('st'), 'x']), { status: 1, stderr: /--ref is missing/ });
  t.match(ovl(['commit', '--store', s.path('st'), '--ref', 'a:1']), { status: 1, stderr: /TARGET is missing/ });
  t.match(stderrJson(ovl(['commit', '--json', '--store', s.path('st'), '--ref', 'a:1', s.dir])), { command: 'commit', field: 'target', exitCode: 1 });
  t.match(ovl(['save', 'st:a:1', 'out']), { status: 1, stderr: /--format is missing/ });
  t.match(ovl(['save', '--format', 'oci-archive', 'st']), { status: 1, stderr: /OUT is missing/ });
  t.match(ovl(['save', '--format', 'oci-archive', 'st', 'out']), { status: 1, stderr: /not STORE:REF/ });
  t.match(stderrJson(ovl(['save', '--json', '--format', 'zip', `${s.path('st')}:a:1`, s.path('o')])), { command: 'save', field: 'format', exitCode: 1 });
  t.notOk(fs.existsSync(s.path('st')), 'no store was made');
});
