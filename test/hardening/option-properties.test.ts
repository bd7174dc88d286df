// Property tests: whatever bytes a path holds, formatting then parsing gives
// back exactly the same layers and options, so no path can add one.
import fc from 'fast-check';
import t from 'tap';
import { formatOptions, OverlayError, parseOptions, type ParsedOptions } from '../../lib/index';

const RUNS = Number(process.env.OVL_PROPERTY_RUNS ?? 5000);
// Paths: any characters but NUL, weighted towards the ones that matter.
const pathChar = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(',', ':', '\\', '=', ' ', '\t', '\n', '/', 'a', '+') },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }).filter((c) => !c.includes('\0')) },
);
const path = fc.array(pathChar, { minLength: 1, maxLength: 40 }).map((cs) => cs.join(''));

t.test('format then parse round-trips any layers', async (t) => {
  fc.assert(
    fc.property(fc.array(path, { minLength: 1, maxLength: 8 }), fc.array(path, { maxLength: 3 }), fc.option(fc.tuple(path, path), { nil: undefined }), (lower, data, upperWork) => {
      const options: ParsedOptions = { lower, ...(data.length ? { data } : {}), ...(upperWork ? { upper: upperWork[0], work: upperWork[1] } : {}) };
      const parsed = parseOptions(formatOptions(options));
      t.strictSame(parsed, options);
      return true;
    }),
    { numRuns: RUNS },
  );
  t.pass(`${RUNS} cases`);
});

t.test('no path adds an option or a layer', async (t) => {
  fc.assert(
    fc.property(path, (p) => {
      const parsed = parseOptions(formatOptions({ lower: [p], upper: '/u', work: '/w', index: true }));
      return (
        Object.keys(parsed).sort().join() === 'index,lower,upper,work' &&
        parsed.lower?.length === 1 &&
        parsed.lower[0] === p &&
        parsed.upper === '/u' &&
        parsed.work === '/w' &&
        parsed.index === true
      );
    }),
    { numRuns: RUNS },
  );
  t.pass(`${RUNS} cases`);
});

t.test('any text parses or is refused with an error naming the field', async (t) => {
  fc.assert(
    fc.property(fc.string({ maxLength: 60 }), (text) => {
      try {
        parseOptions(text);
        return true;
      } catch (err) {
        return err instanceof OverlayError && typeof err.field === 'string' && err.field.length > 0;
      }
    }),
    { numRuns: RUNS },
  );
  t.pass(`${RUNS} cases`);
});
