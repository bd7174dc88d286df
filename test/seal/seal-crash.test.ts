// A seal killed with SIGKILL at several points (while objects are written
// to temporaries, while the image is written and published, a random time after the
// start) leaves no IMAGE and only whole objects (verify finds every object
// equal to its name); the next seal completes over what is left and gives
// the image a seal into an empty store gives, and removes what the killed
// seal left; a seal that finds another holding the store leaves every
// temporary there alone, and two seals into one store at once both finish.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { sealSync, verifySync } from '../../lib/index';
import { needsImages } from '../helpers/images';
import { scratch } from '../helpers/scratch';
import { nodeCommand } from '../helpers/child-env';

const INDEX = path.join(__dirname, '..', '..', 'lib', 'index.js');

/** Runs sealSync in a child and kills it with SIGKILL once `when(startedAt)` holds (polled every 2 ms); resolves true when it was killed. */
function sealKilledWhen(source: string, store: string, image: string, when: (startedAt: number) => boolean): Promise<boolean> {
  const script = sealScript(source, store, image);
  const startedAt = Date.now();
  const child = spawn(...nodeCommand(['-e', script]), { stdio: 'ignore' });
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
    ['while the image is written and published', () => fs.readdirSync(s.dir).some((n) => n.startsWith('.seal-') && fs.existsSync(s.path(n, 'image')))],
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

function sealScript(source: string, store: string, image: string): string {
  return `require(${JSON.stringify(INDEX)}).sealSync(${JSON.stringify(source)}, { store: ${JSON.stringify(store)}, image: ${JSON.stringify(image)} })`;
}

const exited = (child: ChildProcess): Promise<number | null> => new Promise((resolve) => child.on('exit', (code) => resolve(code)));

const stagingDirs = (dir: string): string[] => fs.readdirSync(dir).filter((n) => /^\.seal-[A-Za-z0-9]{6}$/.test(n) && fs.statSync(path.join(dir, n)).isDirectory());

t.test("a killed seal's temporaries are removed by the next seal, and only they", needsImages, async (t) => {
  const s = scratch(t);
  for (let i = 0; i < 300; i++) fs.mkdirSync(s.path('src', `d${i % 10}`), { recursive: true }), fs.writeFileSync(s.path('src', `d${i % 10}`, `f${i}`), randomBytes(32 * 1024));
  const [store, images] = s.mkdirs('store', 'images');
  const image = path.join(images!, 'sealed.img');
  const killed = await sealKilledWhen(s.path('src'), store!, image, () => temporaries(store!).length > 0);
  t.ok(killed, 'the seal was killed while writing objects');
  t.not(temporaries(store!).length, 0, 'it left object temporaries in the store');
  t.equal(stagingDirs(images!).length, 1, "and its staging directory beside IMAGE");
  // Names a seal never makes, or of a kind it does not leave there: the user's, kept.
  fs.writeFileSync(path.join(images!, '.seal-keep01'), 'a file, not a staging directory');
  fs.mkdirSync(path.join(images!, '.seal-notes-dir'));
  const done = sealSync(s.path('src'), { store: store!, image });
  t.equal(done.files, 300);
  t.same(temporaries(store!), [], 'the next seal removed every temporary of the killed one');
  t.same(fs.readdirSync(images!).sort(), ['.seal-keep01', '.seal-notes-dir', 'sealed.img'], "its staging directory is gone, the user's entries stay");
  t.same(verifySync(store!, [image]), { ok: true, objects: 300, problems: [] });
});

t.test('a seal that finds the store held by another leaves its temporaries; once free, the next removes them', needsImages, async (t) => {
  const s = scratch(t);
  const [store, src] = s.mkdirs('store', 'src');
  fs.writeFileSync(path.join(src!, 'file'), 'content');
  // A temporary as a running seal has it, and that seal's shared lock on the store (held by one process, killed below).
  fs.mkdirSync(path.join(store!, 'ab'));
  const live = path.join(store!, 'ab', '.seal-Live01');
  fs.writeFileSync(live, 'half an object');
  const hold = 'import fcntl, os, sys, time\nfd = os.open(sys.argv[1], os.O_RDONLY)\nfcntl.flock(fd, fcntl.LOCK_SH)\nprint("locked", flush=True)\ntime.sleep(60)';
  const holder = spawn('python3', ['-c', hold, store!], { stdio: ['ignore', 'pipe', 'ignore'] });
  t.teardown(() => holder.kill('SIGKILL'));
  await new Promise<void>((resolve) => holder.stdout!.once('data', () => resolve()));
  sealSync(src!, { store: store!, image: s.path('one.img') });
  t.ok(fs.existsSync(live), 'a seal run while another holds the store leaves its temporary');
  holder.kill('SIGKILL');
  await exited(holder);
  sealSync(src!, { store: store!, image: s.path('two.img') });
  t.notOk(fs.existsSync(live), 'with the holder gone, the next seal removes it');
});

t.test('two seals into one store at once both finish, with whole objects', needsImages, async (t) => {
  const s = scratch(t);
  const [store] = s.mkdirs('store');
  const shared = randomBytes(32 * 1024);
  for (const tree of ['a', 'b']) {
    for (let i = 0; i < 200; i++) {
      fs.mkdirSync(s.path(tree, `d${i % 10}`), { recursive: true });
      // Half the contents shared by both trees: both seals write and publish the same objects.
      fs.writeFileSync(s.path(tree, `d${i % 10}`, `f${i}`), i % 2 ? Buffer.concat([shared, Buffer.from(String(i))]) : randomBytes(32 * 1024));
    }
  }
  const children = ['a', 'b'].map((tree) => spawn(...nodeCommand(['-e', sealScript(s.path(tree), store!, s.path(`${tree}.img`))]), { stdio: 'ignore' }));
  const codes = await Promise.all(children.map(exited));
  t.same(codes, [0, 0], 'both seals succeeded');
  t.same(temporaries(store!), [], 'no temporary left');
  const check = verifySync(store!, [s.path('a.img'), s.path('b.img')]);
  t.same(check.problems, [], `every object whole, none missing (${check.objects})`);
  t.equal(check.objects, 300);
});
