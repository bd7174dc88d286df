// Relative paths inside a layer, as the JS walks (toOci, fromOci) build them.

export function joinRel(dir: string, name: string): string {
  return dir === '' ? name : `${dir}/${name}`;
}
