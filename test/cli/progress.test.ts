/**
 * Progress on a terminal only: a cli-progress bar on stderr when it is a TTY (a real pseudo-terminal
 * through util-linux `script`, and a TTY-like stream in-process), nothing at all otherwise, and
 * stdout of machine formats untouched either way. The library hooks report every file.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import { createProgressReporter, MIN_PROGRESS_TOTAL } from '../../src/cli/progress.js';
import { createGitReader } from '../../src/git/index.js';
import { readManifests } from '../../src/read-model/read-manifests.js';
import { readRecords } from '../../src/records/read-records.js';
import { commitFiles, createTempRepo, type TempDir } from '../helpers/git-fixtures.js';
import { providerYaml } from '../helpers/reconciler-fixtures.js';
import { createTestContext } from './helpers-context.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const TSX_LOADER = new URL('../../node_modules/tsx/dist/loader.mjs', import.meta.url).href;
const FILES = 60;

/** A stream that says it is a terminal and keeps what is written to it. */
function createTerminal(): { stream: Writable & { isTTY: boolean; columns: number }; text: () => string } {
  let text = '';
  const stream = Object.assign(
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        text += chunk.toString('utf8');
        done();
      },
    }),
    { isTTY: true, columns: 100 },
  );
  return { stream, text: () => text };
}

let repo: TempDir;
beforeAll(async () => {
  repo = await createTempRepo();
  const files: Record<string, string> = {};
  for (let i = 0; i < FILES; i++) {
    files[`manifests/providers/p-${String(i).padStart(2, '0')}.yaml`] = providerYaml(`p-${i}`, {
      type: 'file',
      options: { directory: 'out' },
    });
    // Not records cavra-gitops wrote: each is a finding, but each is read and counted. Each has
    // its own content: the record cache keeps one outcome per blob, so `verify` would parse 59
    // copies of one blob again at their own paths, a second bar after the snapshot's 60/60.
    files[`records/deliveries/2026-06/d-${i}.json`] = `{"n":${i}}\n`;
  }
  await commitFiles(repo.dir, files, 'many files', { date: '2026-06-28T09:00:00Z' });
});
afterAll(async () => {
  await repo.cleanup();
});

describe('library progress hooks', () => {
  it('readManifests and readRecords report every file, ending at total/total', async () => {
    const reader = createGitReader(repo.dir);
    try {
      const tip = await reader.resolve('HEAD');
      const manifestCalls: [number, number][] = [];
      await readManifests(reader, tip, { onProgress: (done, total) => manifestCalls.push([done, total]) });
      expect(manifestCalls[0]).toEqual([0, FILES]);
      expect(manifestCalls.at(-1)).toEqual([FILES, FILES]);
      expect(manifestCalls).toHaveLength(FILES + 1);
      const recordCalls: [number, number][] = [];
      await readRecords(reader, tip, { onProgress: (done, total) => recordCalls.push([done, total]) });
      expect(recordCalls.at(-1)).toEqual([FILES, FILES]);
      expect(recordCalls.map(([done]) => done)).toEqual(
        [...recordCalls.map(([done]) => done)].sort((a, b) => a - b),
      );
    } finally {
      await reader.close();
    }
  });
});

describe('ProgressReporter', () => {
  it('draws on a terminal, from the threshold up, and clears its bar', () => {
    const terminal = createTerminal();
    const t = createTestContext('/');
    const progress = createProgressReporter({ ...t.context, isTTY: true, terminal: terminal.stream });
    expect(progress.active).toBe(true);
    progress.phase('tiny')(0, MIN_PROGRESS_TOTAL - 1);
    expect(terminal.text()).toBe('');
    const report = progress.phase('reading records');
    for (let done = 0; done <= 200; done++) report(done, 200);
    progress.stop();
    expect(terminal.text()).toContain('reading records [');
    expect(terminal.text()).toContain('200/200 100%');
  });

  it('is a no-op without a terminal', () => {
    const terminal = createTerminal();
    const t = createTestContext('/');
    const progress = createProgressReporter({ ...t.context, isTTY: false, terminal: terminal.stream });
    expect(progress.active).toBe(false);
    progress.phase('x')(0, 1000);
    progress.stop();
    expect(terminal.text()).toBe('');
  });

  it('verify on a terminal shows its bars on the terminal; stdout has only the result', async () => {
    const terminal = createTerminal();
    const t = createTestContext(repo.dir);
    const code = await runCli(['verify', '--format', 'json'], {
      ...t.context,
      isTTY: true,
      terminal: terminal.stream,
    });
    expect(code).toBe(1);
    const result = JSON.parse(t.stdout()) as { findings: { rule: string }[] };
    // Each hand-written record is found twice: its hash, and that no reconciler commit added it.
    expect(result.findings.filter((f) => f.rule === 'verify.record-not-by-reconciler')).toHaveLength(FILES);
    expect(terminal.text()).toContain(`${FILES}/${FILES}`);
    expect(terminal.text()).toContain('reading records');
    expect(t.stderr()).toBe('');
  });
});

const hasScript = spawnSync('script', ['--version']).status === 0;

describe('the CLI as a process', () => {
  it.runIf(hasScript)(
    'on a pseudo-terminal: a bar on the terminal, clean JSON on the redirected stdout',
    async () => {
      // Untracked, so it does not change what validate reads (the committed tip).
      const out = join(repo.dir, 'validate.json');
      const command = `'${process.execPath}' --import '${TSX_LOADER}' '${MAIN}' validate --format json --repo '${repo.dir}' > '${out}'`;
      const terminal = await new Promise<string>((resolve, reject) => {
        const child = spawn('script', ['-qec', command, '/dev/null'], {
          env: { ...process.env, COLUMNS: '120', TERM: 'xterm' },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let text = '';
        child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        child.on('error', reject);
        child.on('close', () => resolve(text));
      });
      expect(terminal).toContain('validating manifests [');
      expect(terminal).toContain(`${FILES}/${FILES}`);
      const json = JSON.parse(await readFile(out, 'utf8')) as { valid: boolean; conditions: unknown[] };
      expect(json.conditions).toHaveLength(FILES);
    },
  );

  it('without a terminal: nothing on stderr, only the JSON on stdout', async () => {
    const result = await new Promise<{ out: string; err: string; code: number | null }>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        ['--import', TSX_LOADER, MAIN, 'validate', '--format', 'json', '--repo', repo.dir],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let out = '';
      let err = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
      child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
      child.on('error', reject);
      child.on('close', (code) => resolve({ out, err, code }));
    });
    expect(result.err).toBe('');
    expect(result.code).toBe(0);
    expect((JSON.parse(result.out) as { conditions: unknown[] }).conditions).toHaveLength(FILES);
  });
});
