// ovl convert: a layer between OCI image form and overlay form.
import { fromOci, OverlayError, toOci } from '../../lib/index';
import { framedRun, type Command } from '../cli/command';
import { escapeAnyName, jsonName } from '../cli/escape-bytes';
import { EXIT_OK } from '../cli/exit-codes';
import { refuseMountedLayers } from '../cli/mounted-layers';
import { UsageError } from '../cli/usage-error';
import { rawArgument } from '../cli/raw-args';
import { canonicalPath, displayPath } from '../../lib/internal';

const HELP = `Usage: ovl convert --to overlay [--xattr] [--userxattr] [--allow-mounted] [--json] SRC
       ovl convert --to oci [--userxattr] [--unprivileged report] [--allow-mounted] [--json] SRC DEST

--to overlay: convert the unpacked OCI layer SRC in place, all or nothing
  (a failure puts back what was changed): each .wh.NAME
  becomes a whiteout NAME (a char device 0/0, or with --xattr an xattr
  whiteout), each .wh..wh..opq an opaque mark on its directory.
--to oci: write the OCI form of the upper layer SRC to DEST (new, or an empty
  directory; not SRC or inside it), all or nothing: whiteouts become empty .wh.NAME files, opaque directories get
  .wh..wh..opq. Extended attributes are kept, but the overlay's own marks.
  Hard links, devices, fifos, sparse files, owners, set-id bits and
  nanosecond times are kept; sockets and xattrs DEST refuses (no xattr
  support, no privilege for trusted.*) are skipped, each named on stderr.
Killed half way, either form is finished (--to overlay) or its temporaries
(.ovl-oci-*) removed (--to oci) by the next run of the same command.
Nothing is written outside the tree: symlinks in it are never followed.
SRC and DEST that are not UTF-8 are taken as their exact bytes (read from
/proc/self/cmdline), never as the look-alike Node decodes.

Options:
      --to FORM     overlay or oci
      --xattr       (--to overlay) make xattr whiteouts, for a layer mounted as a lower
      --userxattr   user.overlay.* marks instead of trusted.overlay.*
      --unprivileged refuse|report
                    (--to oci) what the caller's privileges cannot keep (owners
                    without CAP_CHOWN, device nodes without CAP_MKNOD): refuse
                    before writing anything (default), or export and name each one
                    not kept as skipped
      --allow-mounted
                    write even in a layer of a mounted overlay
      --json        print {"to","src"} (--to oci: and "dest", "skipped": [{"path","reason","xattr"?}]
                    instead of the lines on stderr), paths absolute; errors as JSON on stderr
  -h, --help        show this help

Exit status: 0 converted; 1 wrong usage, or a layer that cannot be converted.`;

const OPTIONS = {
  to: { type: 'string' },
  xattr: { type: 'boolean' },
  userxattr: { type: 'boolean' },
  unprivileged: { type: 'string' },
  'allow-mounted': { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

// The library names SRC by its own parameter (toOci's upper, fromOci's dir):
// the command's errors name it as its usage does.
async function namingSrc<T>(libraryField: string, call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (err) {
    if (!(err instanceof OverlayError) || err.field !== libraryField) throw err;
    const { syscall, path, reason, detail } = err;
    throw new OverlayError({ errno: -err.errno, field: 'src', detail, ...(syscall !== undefined ? { syscall } : {}), ...(path !== undefined ? { path } : {}), ...(reason !== undefined ? { reason } : {}) });
  }
}

const run = framedRun({ name: 'convert', help: HELP, options: OPTIONS }, async ({ values, positionals }, json) => {
  const userxattr = !!values.userxattr;
  // A name that is not UTF-8 is taken as its exact bytes (a Buffer), never as the U+FFFD look-alike.
  const [src, dest, ...extra] = positionals.map((p, i) => rawArgument(p, i === 0 ? 'SRC' : 'DEST'));
  const shown = (p: string | Buffer) => (typeof p === 'string' ? displayPath(canonicalPath(p)) : escapeAnyName(canonicalPath(p)));
  if (values.to !== 'overlay' && values.to !== 'oci') throw new UsageError(values.to === undefined ? '--to is missing' : `--to must be overlay or oci, got '${values.to}'`);
  if (src === undefined) throw new UsageError('SRC is missing');
  if (values.to === 'overlay') {
    if (values.unprivileged !== undefined) throw new UsageError('--unprivileged is for --to oci');
    if (dest !== undefined) throw new UsageError('--to overlay converts SRC in place: no DEST');
    if (!values['allow-mounted']) refuseMountedLayers('convert', [canonicalPath(src)], () => 'src');
    await namingSrc('dir', fromOci(src, { kind: values.xattr ? 'xattr' : 'chardev', userxattr }));
    if (json) process.stdout.write(JSON.stringify({ to: 'overlay', src: shown(src) }) + '\n');
    return EXIT_OK;
  }
  if (values.xattr) throw new UsageError('--xattr is for --to overlay');
  const unprivileged = values.unprivileged;
  if (unprivileged !== undefined && unprivileged !== 'refuse' && unprivileged !== 'report') throw new UsageError(`--unprivileged must be refuse or report, got '${unprivileged}'`);
  if (dest === undefined) throw new UsageError('DEST is missing');
  if (extra.length) throw new UsageError('too many arguments');
  if (!values['allow-mounted']) refuseMountedLayers('convert', [canonicalPath(dest)], () => 'dest');
  const { skipped } = await namingSrc('upper', toOci(src, dest, { userxattr, ...(unprivileged ? { unprivileged } : {}) }));
  if (json) {
    // Instead of the lines on stderr; a path that is not UTF-8 as diff --json gives it (jsonName).
    const rows = skipped.map((s) => ({ ...s, ...jsonName(s.path) }));
    process.stdout.write(JSON.stringify({ to: 'oci', src: shown(src), dest: shown(dest), skipped: rows }) + '\n');
  } else {
    for (const s of skipped) process.stderr.write(`ovl: convert: skipped ${escapeAnyName(s.path)}: ${s.reason}\n`);
  }
  return EXIT_OK;
});

export const convertCommand: Command = { name: 'convert', summary: 'convert a layer between OCI and overlay form', help: HELP, run };
