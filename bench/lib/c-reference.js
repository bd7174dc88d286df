'use strict';
// Builds the C reference programs in bench/c with the system compiler into
// the bench's temp dir (never committed) and runs them. Each program times
// its own loop and prints the total in nanoseconds, so process start-up is
// not counted against C.
const { execFileSync } = require('node:child_process');
const path = require('node:path');

const SOURCE_DIR = path.join(__dirname, '..', 'c');

function compile(name, outDir) {
  const binary = path.join(outDir, name);
  const compiler = process.env.CC || 'cc';
  execFileSync(compiler, ['-O2', '-Wall', '-pthread', '-o', binary, path.join(SOURCE_DIR, `${name}.c`)], { stdio: ['ignore', 'inherit', 'inherit'] });
  return binary;
}

/** Runs a compiled reference (with extra environment variables, if any); returns the nanoseconds it reports. */
function runTimed(binary, args, extraEnv) {
  const env = extraEnv ? { ...process.env, ...extraEnv } : process.env;
  const out = execFileSync(binary, args, { encoding: 'utf8', maxBuffer: 1 << 20, env });
  const ns = Number(out.trim());
  if (!Number.isFinite(ns)) throw new Error(`${path.basename(binary)} printed ${JSON.stringify(out)}`);
  return ns;
}

module.exports = { compile, runTimed };
