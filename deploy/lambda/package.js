// serverless.yml: `artifact: ${file(./deploy/lambda/package.js):artifact}` builds (or reuses)
// the deployment package with package.py and resolves to its path. The Python that runs it
// is ./dev's virtualenv when there is one (its versions are what the tests ran against),
// else python3 on the PATH.
'use strict';
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

module.exports.artifact = () => {
  const root = path.resolve(__dirname, '..', '..');
  const venv = path.join(root, '.venv', 'bin', 'python');
  const python = fs.existsSync(venv) ? venv : 'python3';
  const out = execFileSync(python, [path.join(__dirname, 'package.py')], {
    cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'],
  });
  return path.relative(root, out.trim());
};
