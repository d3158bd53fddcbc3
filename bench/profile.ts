/**
 * Profile the gateway process under one load: starts portwarden with `--cpu-prof`, runs the
 * load through the chosen listener, stops the gateway (the profile is written at exit) and
 * prints the functions with the most self time from the .cpuprofile JSON.
 *
 *   node --import tsx bench/profile.ts [postgres|tcp-pg|redis|mysql] [strict|async] [seconds] [redis pipeline]
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mysqlslap, pgbench, prepareMysql, preparePgbench, redisBenchmark } from './loads.js';
import { startPortwarden } from './portwarden.js';
import type { PortwardenListener } from './portwarden.js';
import { freePort, runBenchmark } from './util.js';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { functionName: string; url: string; lineNumber: number };
  readonly hitCount?: number;
}
interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
}

/** Self-time share per function (name, file:line), highest first. */
export function topSelfTime(profile: CpuProfile, top = 25): { share: number; where: string }[] {
  const hits = new Map<string, number>();
  let total = 0;
  for (const n of profile.nodes) {
    const count = n.hitCount ?? 0;
    if (count === 0) continue;
    const f = n.callFrame;
    const file = f.url.replace(/^file:\/\//, '').replace(/^.*\/(src|node_modules)\//, '$1/');
    const where =
      `${f.functionName || '(anonymous)'} ${file ? `${file}:${f.lineNumber + 1}` : ''}`.trim();
    hits.set(where, (hits.get(where) ?? 0) + count);
    total += count;
  }
  return [...hits.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([where, count]) => ({ share: count / Math.max(total, 1), where }));
}

async function main(): Promise<void> {
  const [which = 'postgres', modeArg = 'strict', secondsArg = '10', pipelineArg = '1'] =
    process.argv.slice(2);
  const mode = modeArg === 'async' ? 'async' : 'strict';
  const seconds = Number(secondsArg);
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'pw-prof-'));
  const listener: PortwardenListener =
    which === 'redis'
      ? {
          name: 'redis',
          listenPort: port,
          targetHost: '127.0.0.1',
          targetPort: 6379,
          protocol: 'redis',
        }
      : which === 'mysql'
        ? {
            name: 'mysql',
            listenPort: port,
            targetHost: '127.0.0.1',
            targetPort: 3306,
            protocol: 'mysql',
          }
        : {
            name: which,
            listenPort: port,
            targetHost: '127.0.0.1',
            targetPort: 5432,
            protocol: which === 'tcp-pg' ? 'tcp' : 'postgres',
          };
  if (which === 'mysql') await prepareMysql();
  else if (which !== 'redis') await preparePgbench();
  const pw = await startPortwarden({ mode, listeners: [listener], cpuProfileDir: dir });
  let rate: string;
  if (which === 'redis') {
    const pipeline = Number(pipelineArg);
    const r = await redisBenchmark(port, pipeline, 2000 * seconds * pipeline);
    rate = `GET ${r.get.toFixed(0)} req/s, SET ${r.set.toFixed(0)} req/s`;
  } else if (which === 'mysql') {
    rate = `${(await mysqlslap(port, 2000 * seconds)).toFixed(0)} q/s`;
  } else {
    rate = `${(await pgbench(port, seconds)).toFixed(0)} tps`;
  }
  await pw.stop();
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no .cpuprofile in ${dir}; gateway output:\n${pw.output()}`);
  const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
  process.stdout.write(
    `${which} ${mode}: ${rate}\nprofile: ${join(dir, file)}\n\n| self time | function |\n|---:|---|\n`,
  );
  for (const { share, where } of topSelfTime(profile))
    process.stdout.write(`| ${(share * 100).toFixed(1)}% | \`${where}\` |\n`);
}

runBenchmark('profile', main);
