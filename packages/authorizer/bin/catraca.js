#!/usr/bin/env node
// The `catraca` command. A committed launcher (not dist/main.js itself) so that the package manager can link the
// bin at install time, before the TypeScript build has produced dist/.
import '../dist/main.js';
