#!/usr/bin/env node
/** Entry point of the `portwarden` binary. */
import { buildProgram } from './program.js';

await buildProgram().parseAsync(process.argv);
