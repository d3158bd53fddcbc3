/** The `stdout` sink: one record per line (NDJSON) on the process's standard output. */
import type { JsonObject } from '../audit/event.js';
import type { Transport } from './sink.js';

export function stdoutTransport(out: NodeJS.WritableStream = process.stdout): Transport {
  return {
    deliver(record: JsonObject): Promise<void> {
      return new Promise((resolve, reject) => {
        out.write(`${JSON.stringify(record)}\n`, (err) => (err ? reject(err) : resolve()));
      });
    },
  };
}
