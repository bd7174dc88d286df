// The layer tools' options objects are strict: an unknown key (a typo) is
// refused, naming it, before anything is read or written.
import * as fs from 'node:fs';
import t from 'tap';
import { changes, changesSync, fromOci, fromOciSync, isWhiteoutSync, toOci, toOciSync, whiteout, whiteoutSync, whiteouts, whiteoutsSync } from '../../lib/index';
import { needsRoot } from '../helpers/layer';
import { scratch } from '../helpers/scratch';

const typo = { userXattr: true } as unknown as Record<string, never>;

t.test('every layer call refuses an unknown key, naming it, and touches nothing', needsRoot, async (t) => {
  const s = scratch(t);
  s.write({ 'upper/a': 'x', 'oci/.wh.gone': '', 'oci/keep': 'k' });
  const refused = { name: 'OverlayError', code: 'EINVAL', field: 'userXattr' };

  t.throws(() => changesSync(s.path('upper'), typo), refused);
  await t.rejects(changes(s.path('upper'), typo), refused);

  t.throws(() => toOciSync(s.path('upper'), s.path('dest'), typo), refused);
  await t.rejects(toOci(s.path('upper'), s.path('dest'), typo), refused);
  t.notOk(fs.existsSync(s.path('dest')), 'toOci made no DEST');

  t.throws(() => fromOciSync(s.path('oci'), typo), refused);
  await t.rejects(fromOci(s.path('oci'), typo), refused);
  t.ok(fs.existsSync(s.path('oci/.wh.gone')), 'fromOci left the marker');
  t.notOk(fs.existsSync(s.path('oci/gone')), 'fromOci made no whiteout');

  t.throws(() => whiteoutSync(s.path('upper/w'), typo), refused);
  await t.rejects(whiteout(s.path('upper/w'), { force: true, Kind: 'xattr' } as never), { name: 'OverlayError', field: 'Kind' });
  t.throws(() => whiteoutsSync(s.path('upper'), ['w'], typo), refused);
  // whiteouts takes its root as an argument: a root key in the options would be ignored, so it is refused.
  await t.rejects(whiteouts(s.path('upper'), ['w'], { root: '/' } as never), { name: 'OverlayError', field: 'root' });
  t.throws(() => isWhiteoutSync('a', { root: s.path('upper'), userxattrs: true } as never), { name: 'OverlayError', field: 'userxattrs' });
  t.notOk(fs.existsSync(s.path('upper/w')), 'no whiteout made');

  t.throws(() => changesSync(s.path('upper'), null as never), { code: 'ERR_INVALID_ARG_TYPE', field: 'options' });
  t.throws(() => changesSync(s.path('upper'), [] as never), { code: 'ERR_INVALID_ARG_TYPE', field: 'options' });
});
