#!/usr/bin/env node
import { main } from '../dist/src/cli/main.js';

main(process.argv).catch((err) => {
  process.stderr.write(`plait: ${err?.message ?? err}\n`);
  process.exitCode = 1;
});
