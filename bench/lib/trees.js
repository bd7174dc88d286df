'use strict';
// The host trees the layer sections build from (/usr/share), counted.

const fs = require('node:fs');
const path = require('node:path');

/** Every entry beneath dir, not counting dir itself. */
function countEntries(dir) {
  let n = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    n++;
    if (e.isDirectory()) n += countEntries(path.join(dir, e.name));
  }
  return n;
}

module.exports = { countEntries };
