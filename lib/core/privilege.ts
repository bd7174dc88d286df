// Whether this process may mount: CAP_SYS_ADMIN in its effective set. Asked
// before mounting so a caller without it hears that, not a later EACCES from
// a layer it cannot open.
import fs from 'node:fs';

const CAP_SYS_ADMIN = 21n;

/**
 * True when this process holds CAP_SYS_ADMIN (as root normally does). In a
 * user namespace this is the namespace's capability: the kernel still decides.
 */
export function hasCapSysAdmin(): boolean {
  let status: string;
  try {
    status = fs.readFileSync('/proc/self/status', 'utf8');
  } catch {
    return process.getuid?.() === 0;
  }
  const effective = /^CapEff:\s*([0-9a-fA-F]+)\s*$/m.exec(status)?.[1];
  if (effective === undefined) return process.getuid?.() === 0;
  return ((BigInt('0x' + effective) >> CAP_SYS_ADMIN) & 1n) === 1n;
}
