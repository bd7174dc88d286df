// tsc writes dist/bin/ovl.js without the execute bit; the shebang needs it to run as `ovl`.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

fs.chmodSync(path.join(__dirname, '..', 'dist', 'bin', 'ovl.js'), 0o755);
