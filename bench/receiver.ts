/**
 * The benches' webhook receiver, in a process of its own (as a provider is): in the bench's own
 * event loop its timers would wait on whatever the reconciler computes and charge that to the
 * calls.
 */
import { spawn } from 'node:child_process';

/** Answers every POST after `latency` ms; `GET /count` answers how many deliveries it has seen. */
const RECEIVER_SCRIPT = `
const { createServer } = require('node:http');
const latency = Number(process.argv[1]);
let count = 0;
const server = createServer((request, response) => {
  request.resume();
  request.on('end', () => {
    if (request.method === 'GET') return void response.end(String(count));
    count++;
    const answer = () => response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    if (latency > 0) setTimeout(answer, latency);
    else answer();
  });
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\\n'));
`;

export interface Receiver {
  url: string;
  count: () => Promise<number>;
  close: () => void;
}

export async function startReceiver(latencyMs = 0): Promise<Receiver> {
  const child = spawn(process.execPath, ['-e', RECEIVER_SCRIPT, String(latencyMs)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the receiver exited with ${code}`)));
    child.stdout.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
  });
  const origin = `http://127.0.0.1:${port}`;
  return {
    url: `${origin}/hook`,
    count: async () => Number(await (await fetch(`${origin}/count`)).text()),
    close: () => void child.kill(),
  };
}
