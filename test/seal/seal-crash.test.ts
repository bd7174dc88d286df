// A seal killed with SIGKILL at several points (while objects are written
// to temporaries, while mkfs.erofs packs the image, a random time after the
// start) leaves no IMAGE and only whole objects (verify finds every object
// equal to its name); the next seal completes over what is left and gives
// the image a seal into an empty store gives.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { sealSync, verifySync } from '../../lib/index';
import { needsImages } from '../helpers/images';
import { scratch } from '../helpers/scratch';

const INDEX = path.join(__dirname, '..', '..', 'lib', 'index.js');

/** Runs sealSync in a child and kills it with SIGKILL once `when(startedAt)` holds (polled every 2 ms); resolves true when it was killed. */
function sealKilledWhen(source: string, store: string, image: string, when: (startedAt: number) => boolean): Promise<boolean> {
  const script = `require(${JSON.stringify(INDEX)}).sealSync(${JSON.stringify(source)}, { store: ${JSON.stringify(store)}, image: ${JSON.stringify(image)} })`;
  const startedAt = Date.now();
  const child = spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
  return new Promise((resolve) => {
    let killed = false;
    const poll = setInterval(() => {
      if (!killed && when(startedAt)) {
        killed = child.kill('SIGKILL');
      }
    }, 2);
    child.on('exit', (_code, signal) => {
      clearInterval(poll);
      resolve(signal === 'SIGKILL');
    });
  });
}

const temporaries = (dir: string): string[] => (fs.readdirSync(dir, { recursive: true }) as string[]).filter((rel) => path.basename(rel).startsWith('.seal-'));

t.test('kill -9 mid-seal: no image, only whole objects, and the next seal completes', needsImages, async (t) => {
  const s = scratch(t);
  for (let i = 0; i < 300; i++) fs.mkdirSync(s.path('src', `d${i % 10}`), { recursive: true }), fs.writeFileSync(s.path('src', `d${i % 10}`, `f${i}`), randomBytes(32 * 1024));
  const [reference] = s.mkdirs('reference-store');
  const want = sealSync(s.path('src'), { store: reference!, image: s.path('reference.img') });
  const [store] = s.mkdirs('store');
  const image = s.path('sealed.img');
  const randomMs = 30 + Math.random() * 100;
  const points: Array<[string, (startedAt: number) => boolean]> = [
    ['while objects are written', () => temporaries(store!).length > 0],
    ['while mkfs.erofs packs the image', () => fs.readdirSync(s.dir).some((n) => n.startsWith('.seal-') && fs.existsSync(s.path(n, 'image')))],
    [`${Math.round(randomMs)} ms after the start`, (startedAt) => Date.now() - startedAt > randomMs],
  ];
  for (const [when, condition] of points) {
    const killed = await sealKilledWhen(s.path('src'), store!, image, condition);
    if (!killed) {
      t.fail(`the seal finished before it could be killed ${when}`);
      fs.rmSync(image, { force: true });
      continue;
    }
    t.notOk(fs.existsSync(image), `killed ${when}: no image`);
    const check = verifySync(store!);
    t.same(check.problems, [], `killed ${when}: every object is whole (${check.objects} of them)`);
  }
  const done = sealSync(s.path('src'), { store: store!, image });
  t.equal(done.digest, want.digest, 'the next seal gives the same image as a seal into an empty store');
  t.same(verifySync(store!, [image]), { ok: true, objects: 300, problems: [] });
});
