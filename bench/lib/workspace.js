'use strict';
// Everything the bench creates lives under one fresh mkdtemp directory with
// a tmpfs mounted on it, so results do not depend on the disk and cleanup is
// one unmount. Nothing outside that directory is ever unmounted.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

function mountsBeneath(root) {
  // mountinfo field 5 is the mount point, with space, tab, newline and backslash octal-escaped.
  const unescape = (s) => s.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => unescape(line.split(' ')[4]))
    .filter((mountPoint) => mountPoint === root || mountPoint.startsWith(root + '/'));
}

class Workspace {
  constructor() {
    this.root = fs.mkdtempSync(path.join(os.tmpdir(), 'overlay-native-bench-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2g,mode=0700', 'overlay-native-bench', this.root]);
    this.counter = 0;
  }

  /** A fresh directory under the workspace. */
  dir(label) {
    const dir = path.join(this.root, `${label}-${this.counter++}`);
    fs.mkdirSync(dir);
    return dir;
  }

  /** N lower layers, an upper, a work dir and a target, each a fresh directory. */
  overlaySet(lowerCount, label = 'set') {
    const base = this.dir(label);
    const make = (name) => {
      const dir = path.join(base, name);
      fs.mkdirSync(dir);
      return dir;
    };
    const lower = Array.from({ length: lowerCount }, (_, i) => make(`l${i}`));
    return { lower, upper: make('upper'), work: make('work'), target: make('merged') };
  }

  /** Lazily unmounts whatever is still mounted beneath the workspace (deepest first), then removes it. */
  cleanup() {
    const leftovers = mountsBeneath(this.root).filter((m) => m !== this.root);
    for (const mountPoint of leftovers.sort((a, b) => b.length - a.length)) {
      process.stderr.write(`bench: unmounting leftover ${mountPoint}\n`);
      try {
        execFileSync('umount', ['-l', mountPoint]);
      } catch {
        // keep going: the tmpfs below is detached lazily anyway
      }
    }
    if (mountsBeneath(this.root).includes(this.root)) execFileSync('umount', ['-l', this.root]);
    fs.rmSync(this.root, { recursive: true, force: true });
    const remaining = mountsBeneath(this.root);
    if (remaining.length) throw new Error(`bench: still mounted: ${remaining.join(', ')}`);
  }
}

module.exports = { Workspace, mountsBeneath };
