/**
 * Runs a real client program without blocking the event loop: the gateway under test
 * lives in this process, so a synchronous exec would deadlock it.
 */
import { execFile, spawn } from 'node:child_process';

export function run(
  cmd: string,
  args: readonly string[],
  options: { input?: string; timeoutMs?: number } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      cmd,
      args,
      { encoding: 'utf8', timeout: options.timeoutMs ?? 30_000, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${cmd} ${args.join(' ')} failed: ${err.message}\n${stderr}`));
        else resolve(stdout);
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

export interface Exit {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs a client program to its end, `input` on stdin, and answers its exit code and both
 * outputs: unlike `run()` a failing program (a denied query, a refused login) is a result.
 */
export function runToExit(cmd: string, args: readonly string[], input = ''): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(input);
  });
}
