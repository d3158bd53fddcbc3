/**
 * The `portwarden` command tree (DESIGN §9). Every command definition is imported here at
 * start-up (`--help` lists them all, commander dispatches by name), so each is light: its
 * name, options and help only. What a command runs loads in its action (commands/*-run.ts),
 * so `--help` and every command load only their own code; test/integration/cli-startup.test.ts
 * keeps it so.
 */
import { Command } from 'commander';
import { centralCommand } from './commands/central.js';
import { checkpointCommand } from './commands/checkpoint.js';
import { collectCommand } from './commands/collect.js';
import { configCommand } from './commands/config.js';
import { demoCommand } from './commands/demo.js';
import { grantCommand } from './commands/grant.js';
import { ingestCommand } from './commands/ingest.js';
import { identityCommand } from './commands/identity-command.js';
import { policyCommand } from './commands/policy.js';
import { portsCommand } from './commands/ports.js';
import { proofCommand } from './commands/proof.js';
import { pruneCommand } from './commands/prune.js';
import { reportCommand } from './commands/report.js';
import { searchCommand } from './commands/search.js';
import { startCommand } from './commands/start.js';
import { tailCommand } from './commands/tail.js';
import { verifyCommand } from './commands/verify.js';
import { whoCommand } from './commands/who.js';

export function buildProgram(): Command {
  const program = new Command('portwarden')
    .description('one auditing gateway in front of every internal port')
    .version('0.1.0')
    .option('-c, --config <file>', 'config file (default ./portwarden.yaml)')
    .option('--data-dir <dir>', "data directory (default: the config's data_dir)")
    .showHelpAfterError()
    .addHelpText(
      'after',
      `
Exit codes: 0 ok, 1 a finding (tampering, policy errors, drift), 2 usage or runtime error.

Examples:
  portwarden start -c portwarden.yaml
  portwarden search --since 15m --port 5432
  portwarden who 10.0.0.5:51234 --at 2026-11-23T03:00:00Z
`,
    );
  for (const c of [
    startCommand(),
    demoCommand(),
    configCommand(),
    searchCommand(),
    tailCommand(),
    whoCommand(),
    grantCommand(),
    identityCommand(),
    policyCommand(),
    verifyCommand(),
    proofCommand(),
    checkpointCommand(),
    pruneCommand(),
    portsCommand(),
    collectCommand(),
    centralCommand(),
    ingestCommand(),
    reportCommand(),
  ]) {
    program.addCommand(c);
  }
  exitTwoOnUsageErrors(program);
  return program;
}

/** commander's own usage errors exit 2 (DESIGN §9); --help and --version exit 0. */
function exitTwoOnUsageErrors(cmd: Command): void {
  cmd.exitOverride((err) => {
    process.exit(err.exitCode === 0 ? 0 : 2);
  });
  for (const sub of cmd.commands) exitTwoOnUsageErrors(sub);
}
