declare module 'node-gyp-build' {
  /** Loads the prebuild or local build of the addon in `dir`. */
  function load(dir: string): unknown;
  export = load;
}
