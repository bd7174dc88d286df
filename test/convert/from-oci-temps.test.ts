// fromOci with xattr whiteouts makes each under a temporary name, so it keeps
// the protocol of native/layers/whiteout_temps.h: a directory it writes in is
// entered (its leftovers of a killed process cleaned, no one else's), and
// held until the conversion is over.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { fromOciSync, isWhiteoutSync } from '../../lib/index';
import { needsRoot, tempsIn, whyNoXattrWhiteouts } from '../helpers/layer';
import { holdLock } from '../helpers/lock-holder';
import { scratch } from '../helpers/scratch';

const skip = needsRoot.skip || whyNoXattrWhiteouts();

t.test('xattr kind: leftovers in a directory it writes in are cleaned; a directory it does not write in is left alone', { skip }, async (t) => {
  const s = scratch(t);
  s.write({ 'oci/d/.wh.gone': '', 'oci/other/x': 'x' });
  for (const dir of ['oci/d', 'oci/other']) execFileSync('mknod', [s.path(dir, '.ovl-wh-abc123xy'), 'c', '0', '0']);
  fromOciSync(s.path('oci'), { kind: 'xattr' });
  t.equal(isWhiteoutSync('d/gone', { root: s.path('oci') }), 'xattr');
  t.same(tempsIn(s.path('oci/d')), [], 'the leftover where a whiteout was made is gone');
  t.same(tempsIn(s.path('oci/other')), ['.ovl-wh-abc123xy'], 'elsewhere untouched');
});

t.test('xattr kind: a leftover of a live process (its shared lock held) is left alone', { skip }, async (t) => {
  const s = scratch(t);
  s.write({ 'oci/d/.wh.gone': '' });
  const dir = s.path('oci/d');
  execFileSync('mknod', [path.join(dir, '.ovl-wh-abc123xy'), 'c', '0', '0']);
  await holdLock(t, dir, 'shared');
  fromOciSync(s.path('oci'), { kind: 'xattr' });
  t.equal(isWhiteoutSync('d/gone', { root: s.path('oci') }), 'xattr', 'converted');
  t.same(tempsIn(dir), ['.ovl-wh-abc123xy'], 'the live temporary stays');
  t.ok(fs.existsSync(path.join(dir, '.ovl-wh-abc123xy')));
});
