// ovl mount: builds MountOptions from -o and the layer flags; the library checks and mounts.
// `-o remount` and a lone --make-* change a mount already there, as mount(8) does.
import path from 'node:path';
import { hasCapSysAdmin, mount, remount, type MountOptions, type RemountOptions } from '../../lib/index';
import { framedRun, type Command } from '../cli/command';
import { EXIT_OK } from '../cli/exit-codes';
import { dockerOptions, layerOptions, withReadOnlyInOptions, MOUNT_FLAGS, MOUNT_FLAGS_HELP, namesLayers, parsedOptionsOf, propagationOf, withoutRemount, type MountFlagValues } from '../cli/mount-request';
import { noPrivilege } from '../cli/report';
import { kernelLogHint, printMounted } from '../cli/mounted';
import { UsageError } from '../cli/usage-error';

const HELP = `Usage: ovl mount [-o OPTIONS] [--lower DIR]... [--data DIR]... [--upper DIR] [--work DIR]
                 [-r|--read-only] [--make-private|--make-shared|--make-slave|--make-unbindable]
                 [--idmap uid|gid:INSIDE:OUTSIDE:COUNT]... [--idmap-userns PATH] [--json] TARGET
       ovl mount --sealed IMAGE --store DIR [--digest sha256:HEX] [--upper DIR --work DIR | -r] TARGET
       ovl mount --docker FILE|- [-r|--read-only] [TARGET]
       ovl mount -o remount[,ro|rw|nosuid|suid|nodev|dev|noexec|exec|noatime|relatime|strictatime] TARGET
       ovl mount --make-private|--make-shared|--make-slave|--make-unbindable TARGET

Mount an overlay on TARGET. With -o remount, change the overlay already mounted
there (only the options given; a bare -o remount reconfigures it as it is);
its layers and overlay options cannot change: see 'ovl replace'. A --make-* flag
with no layers changes the propagation of the overlay mounted on TARGET. With
--json these print {"target","mechanism"}.

Options:
${MOUNT_FLAGS_HELP}

Paths are taken literally with --lower/--data/--upper/--work: no escaping needed.
Exit status: 0 mounted; 1 wrong usage, invalid request or no privilege; 32 the kernel refused.

Example:
  ovl mount --lower ./layer1 --lower ./layer2 --upper ./upper --work ./work ./merged
  ovl mount -o lowerdir=layer1:layer2,upperdir=upper,workdir=work merged
  docker inspect web | ovl mount --docker - --read-only /mnt/web
  ovl mount -o remount,ro merged
  ovl mount --sealed app.cfs --store /var/lib/objects -r /mnt/app`;

/** -o remount,...: every other option is passed on, so the library refuses layers by name. */
function remountOptions(values: MountFlagValues, rest: string[]): RemountOptions {
  const parsed = parsedOptionsOf(rest);
  const options: Record<string, unknown> = { ...parsed };
  if (values.lower?.length) options.lower = values.lower;
  if (values.data?.length) options.data = values.data;
  if (values.upper !== undefined) options.upper = values.upper;
  if (values.work !== undefined) options.work = values.work;
  if (values['read-only']) options.readOnly = true;
  if (values.mechanism !== undefined) options.mechanism = values.mechanism;
  if (values.idmap?.length || values['idmap-userns'] !== undefined) options.idmap = true;
  const propagation = propagationOf(values);
  if (propagation !== undefined) options.propagation = propagation;
  return options as RemountOptions;
}

async function changeInPlace(target: string, options: RemountOptions | undefined, json: boolean): Promise<number> {
  if (!hasCapSysAdmin()) throw noPrivilege('remounting');
  const result = options === undefined ? await remount(target) : await remount(target, options);
  if (json) process.stdout.write(JSON.stringify({ target: path.resolve(target), mechanism: result.mechanism }) + '\n');
  return EXIT_OK;
}

const run = framedRun({ name: 'mount', help: HELP, options: MOUNT_FLAGS, hint: kernelLogHint }, async ({ values: flags, positionals, tokens }, json) => {
  if (positionals.length > 1) throw new UsageError('one TARGET only');
  const given = positionals[0];
  if (flags.docker !== undefined) return await mountAndReport(await dockerOptions(flags, given), json);
  if (given === undefined) throw new UsageError('TARGET is missing');
  const values = withReadOnlyInOptions(flags, tokens);

  const { remount: isRemount, rest } = withoutRemount(values.options ?? []);
  if (isRemount) {
    const options = remountOptions(values, rest);
    return await changeInPlace(given, Object.keys(options).length ? options : undefined, json);
  }
  const parsed = parsedOptionsOf(rest);
  const propagation = propagationOf(values);
  // mount(8): `mount --make-private TARGET` changes the mount there, mounts nothing.
  if (propagation !== undefined && !namesLayers(values, parsed)) return await changeInPlace(given, { propagation }, json);
  return await mountAndReport({ ...layerOptions(values, parsed, tokens), target: given }, json);
});

async function mountAndReport(options: MountOptions, json: boolean): Promise<number> {
  if (!hasCapSysAdmin()) throw noPrivilege('mounting');
  printMounted('mount', await mount(options), json);
  return EXIT_OK;
}

export const mountCommand: Command = { name: 'mount', summary: 'mount an overlay, or change one (-o remount)', help: HELP, run };
