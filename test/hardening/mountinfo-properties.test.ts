// Property test: any path survives the kernel's mountinfo escaping and our
// decoding, in both forms the kernel shows (lowerdir= and lowerdir+=).
import fc from 'fast-check';
import t from 'tap';
import { escapePath, parseMountinfo } from '../../lib/index';

const RUNS = Number(process.env.OVL_PROPERTY_RUNS ?? 5000);
const pathChar = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(',', ':', '\\', '=', ' ', '\t', '\n', '/', 'a', '-') },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }).filter((c) => !c.includes('\0')) },
);
const path = fc.array(pathChar, { minLength: 1, maxLength: 30 }).map((cs) => '/' + cs.join(''));

// What seq_file does to a mount point (seq_path, " \t\n\\") and to an option
// value (seq_show_option, ", \t\n\\"): those bytes become \ooo.
const octal = (chars: string) => (s: string) => s.replace(new RegExp(`[${chars}]`, 'g'), (c) => '\\' + c.charCodeAt(0).toString(8).padStart(3, '0'));
const mountPoint = octal(' \\t\\n\\\\');
const optionValue = octal(', \\t\\n\\\\');

function line(target: string, superOptions: string): string {
  return `41 22 0:45 / ${mountPoint(target)} rw,relatime shared:3 - overlay overlay rw,${superOptions}`;
}

t.test('the lowerdir+= form: one literal entry per layer', async (t) => {
  fc.assert(
    fc.property(path, fc.array(path, { minLength: 1, maxLength: 5 }), fc.array(path, { maxLength: 2 }), path, path, (target, lower, data, upper, work) => {
      const opts = [
        ...lower.map((l) => `lowerdir+=${optionValue(l)}`),
        ...data.map((d) => `datadir+=${optionValue(d)}`),
        `upperdir=${optionValue(upper)}`,
        `workdir=${optionValue(work)}`,
        'index=off',
      ].join(',');
      const [m] = parseMountinfo(line(target, opts) + '\n');
      return m !== undefined && m.target === target && JSON.stringify([m.lower, m.data, m.upper, m.work]) === JSON.stringify([lower, data, upper, work]);
    }),
    { numRuns: RUNS },
  );
  t.pass(`${RUNS} cases`);
});

t.test('the lowerdir= form: the string as given to mount(2), escaped, then octal-escaped', async (t) => {
  fc.assert(
    fc.property(path, fc.array(path, { minLength: 1, maxLength: 5 }), fc.array(path, { maxLength: 2 }), path, path, (target, lower, data, upper, work) => {
      const lowerdir = lower.map(escapePath).join(':') + data.map((d) => '::' + escapePath(d)).join('');
      const opts = `lowerdir=${optionValue(lowerdir)},upperdir=${optionValue(escapePath(upper))},workdir=${optionValue(escapePath(work))},index=off`;
      const [m] = parseMountinfo(line(target, opts) + '\n');
      return m !== undefined && m.target === target && JSON.stringify([m.lower, m.data, m.upper, m.work]) === JSON.stringify([lower, data, upper, work]);
    }),
    { numRuns: RUNS },
  );
  t.pass(`${RUNS} cases`);
});
