// Image references as the store keeps them and as podman and docker read
// them: [domain[:port]/]path[:tag], the grammar of the distribution
// reference (lower-case path components, a tag of at most 128 word
// characters), or 'sha256:<hex>' for an image by its manifest's digest.
import { typeError } from '../core/args';
import { invalid } from '../core/errors';
import { HEX } from './store';

const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const DOMAIN = '(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*(?::[0-9]+)?/)?';
const NAME_TAG = new RegExp(`^${DOMAIN}${COMPONENT}(?:/${COMPONENT})*(?::[\\w][\\w.-]{0,127})?$`);

/** A reference to store an image under (a name, not a digest) or, with `byDigest`, also 'sha256:<hex>'. */
export function checkImageRef(field: string, value: unknown, byDigest = false): string {
  if (typeof value !== 'string') throw typeError(field, 'an image reference string', value);
  if (value === '') throw invalid(field, 'must not be empty');
  if (value.startsWith('sha256:')) {
    if (byDigest && HEX.test(value.slice(7))) return value;
    throw invalid(field, byDigest ? `'${value}' is not sha256: and 64 hex digits` : `'${value}' is a digest: an image is stored under a name ('name:tag')`);
  }
  if (value.length > 255 || !NAME_TAG.test(value)) throw invalid(field, `'${value}' is not an image reference ([domain/]name[:tag], lower-case name parts)`);
  return value;
}

