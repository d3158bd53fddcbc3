/**
 * Gateway CPU per operation: runs a fixed amount of work through one portwarden listener
 * and reads the gateway process's CPU time (all threads, and its main thread alone) from
 * /proc before and after. Unlike a rate, CPU per operation hardly moves when other work
 * shares the machine, so A/B runs of a change (PW_BENCH_CLI=/other/dist/cli/main.js) can be
 * compared on a busy machine.
 *
 *   node --import tsx bench/cpu-cost.ts [postgres|redis|redis16|mysql|tcp-pg] [strict|async] [ops]
 */
import { readdirSync, readFileSync } from 'node:fs';
import { mysqlslapArgs, pgbenchArgs, prepareMysql, preparePgbench } from './loads.js';
import { startPortwarden } from './portwarden.js';
import { freePort, runBenchmark, runCommand } from './util.js';

const TICKS_PER_SECOND = 100;

/** CPU seconds of one thread (utime + stime from its stat line). */
function threadCpu(statPath: string): number {
  const stat = readFileSync(statPath, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** CPU seconds of the process (all threads) and of its main thread. */
export function processCpu(pid: number): { total: number; main: number } {
  let total = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      total += threadCpu(`/proc/${pid}/task/${tid}/stat`);
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return { total, main: threadCpu(`/proc/${pid}/task/${pid}/stat`) };
}

async function main(): Promise<void> {
  const [which = 'postgres', modeArg = 'strict', opsArg] = process.argv.slice(2);
  const mode = modeArg === 'async' ? 'async' : 'strict';
  const port = await freePort();
  const protocol =
    which === 'tcp-pg' ? 'tcp' : which.startsWith('redis') ? 'redis' : (which as 'postgres');
  const targetPort = which.startsWith('redis') ? 6379 : which === 'mysql' ? 3306 : 5432;
  if (which === 'mysql') await prepareMysql();
  else if (!which.startsWith('redis')) await preparePgbench();
  const gw = await startPortwarden({
    mode,
    listeners: [{ name: 'l', listenPort: port, targetHost: '127.0.0.1', targetPort, protocol }],
  });
  try {
    const before = processCpu(gw.pid);
    const t0 = performance.now();
    let ops: number;
    if (which === 'mysql') {
      ops = Number(opsArg ?? 20_000);
      await runCommand('mysqlslap', mysqlslapArgs(port, ops), { timeoutMs: 600_000 });
    } else if (which.startsWith('redis')) {
      ops = Number(opsArg ?? 100_000);
      const pipeline = which === 'redis16' ? '16' : '1';
      await runCommand(
        'redis-benchmark',
        [
          '-h',
          '127.0.0.1',
          '-p',
          String(port),
          '-t',
          'get',
          '-c',
          '50',
          '-n',
          String(ops),
          '-P',
          pipeline,
          '-q',
        ],
        { timeoutMs: 600_000 },
      );
    } else {
      const perClient = Math.ceil(Number(opsArg ?? 20_000) / 8);
      ops = perClient * 8;
      await runCommand('pgbench', pgbenchArgs(port, { transactions: perClient }), {
        timeoutMs: 600_000,
      });
    }
    const seconds = (performance.now() - t0) / 1000;
    const after = processCpu(gw.pid);
    const us = (s: number): string => ((s * 1e6) / ops).toFixed(1);
    console.log(
      `${which} ${mode}: ${ops} ops in ${seconds.toFixed(1)} s (${Math.round(ops / seconds)}/s); gateway CPU per op: ${us(after.total - before.total)} µs (main thread ${us(after.main - before.main)} µs)`,
    );
  } finally {
    await gw.stop();
  }
}

runBenchmark('cpu-cost', main);
