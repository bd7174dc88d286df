// The library's one internal entry point: what the CLI (bin/) and the tests
// take from lib/ beyond the public face (index.ts). None of it is for users,
// so it is not in package.json "exports" and makes no promise to stay.
export { displayPath, type PathLike } from './layers/layer-names';
export { canonicalPath, parentOf } from './layers/path-bytes';
export { splitUnescaped } from './request/option-string';
export { mountsOn } from './core/mount-table';
