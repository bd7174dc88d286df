// toOci writes a whole DEST or none: DEST equal to or inside SRC is refused
// before anything is written (however the path is spelled), and a failure
// half way leaves no DEST and no temporary, or the empty DEST given, as it was.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import t from 'tap';
import { toOci, toOciSync, type ToOciResult } from '../../lib/index';
import { needsRoot } from '../helpers/layer';
import { layerState } from './layer-state';
import { scratch, type Scratch } from '../helpers/scratch';

type Export = (upper: string, dest: string) => Promise<ToOciResult>;
const FORMS: Array<[string, Export]> = [
  ['Promise', (upper, dest) => toOci(upper, dest)],
  ['Sync', async (upper, dest) => toOciSync(upper, dest)],
];

function writeUpper(s: Scratch): void {
  const files: Record<string, string> = {};
  for (let d = 0; d < 5; d++) for (let f = 0; f < 10; f++) files[`upper/d${d}/f${f}`] = `file ${d}/${f}`;
  s.write(files);
}

for (const [form, exportTo] of FORMS) {
  t.test(`${form}: DEST that is SRC or inside it is refused, however spelled`, needsRoot, async (t) => {
    const s = scratch(t);
    writeUpper(s);
    fs.symlinkSync('upper/d1', s.path('alias'));
    const [bind] = s.mkdirs('bind');
    execFileSync('mount', ['--bind', s.path('upper'), bind as string]);
    t.teardown(() => execFileSync('umount', [bind as string]));
    const before = layerState(s.path('upper'));
    const refused = { name: 'OverlayError', code: 'EINVAL', field: 'dest' };
    for (const dest of ['upper', 'upper/new', 'upper/d0/new', 'upper/d0/../d2/new', 'alias/new', 'bind/new', 'bind/d3/new']) {
      await t.rejects(exportTo(s.path('upper'), s.path(dest)), refused, dest);
    }
    t.same(layerState(s.path('upper')), before, 'nothing written in SRC');
    t.same(fs.readdirSync(s.dir).sort(), ['alias', 'bind', 'upper'], 'nothing written beside it');
  });

  t.test(`${form}: a failure half way leaves no DEST and no temporary`, needsRoot, async (t) => {
    const s = scratch(t);
    writeUpper(s);
    s.mkdirs('out');
    // A name OCI cannot express, met after four directories were written.
    s.write({ 'upper/d4/.wh.late': '' });
    await t.rejects(exportTo(s.path('upper'), s.path('out/dest')), { code: 'EINVAL', message: /\.wh\.late/ });
    t.same(fs.readdirSync(s.path('out')), [], 'out is empty');
  });

  t.test(`${form}: an empty DEST given stays, empty, after a failure`, needsRoot, async (t) => {
    const s = scratch(t);
    writeUpper(s);
    const [dest] = s.mkdirs('dest');
    fs.chmodSync(dest as string, 0o751);
    fs.chmodSync(s.path('upper'), 0o700);
    s.write({ 'upper/d4/.wh.late': '' });
    await t.rejects(exportTo(s.path('upper'), dest as string), { code: 'EINVAL' });
    t.same(fs.readdirSync(dest as string), [], 'still empty');
    t.equal(fs.statSync(dest as string).mode & 0o7777, 0o751, 'its mode as it was');
    fs.unlinkSync(s.path('upper/d4/.wh.late'));
    await exportTo(s.path('upper'), dest as string);
    t.equal(s.read('dest/d4/f9'), 'file 4/9', 'then it exports');
    t.equal(fs.statSync(dest as string).mode & 0o7777, 0o700, "with the upper's own mode");
  });

  t.test(`${form}: a full filesystem half way, then a read-only one`, needsRoot, async (t) => {
    const s = scratch(t);
    writeUpper(s);
    const [small] = s.mkdirs('small');
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'nr_inodes=20,size=1m', 'layer-tools-test', small as string]);
    t.teardown(() => execFileSync('umount', [small as string]));
    await t.rejects(exportTo(s.path('upper'), s.path('small/dest')), { code: 'ENOSPC' });
    t.same(fs.readdirSync(small as string), [], 'nothing left on it');
    execFileSync('mount', ['-o', 'remount,ro', small as string]);
    await t.rejects(exportTo(s.path('upper'), s.path('small/dest')), { code: 'EROFS' });
  });
}
