/**
 * What the code and docs cite must be in this repository: comments cite `docs/reference.md §n`
 * (not the specification file the project was first written against, which is not here), every cited section
 * is a heading of docs/reference.md, and every relative link of the docs and the README opens a
 * file that exists (and, with `#anchor`, a heading of it).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..', '..');
const tracked = execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' })
  .split('\0')
  .filter((path) => /\.(ts|js|cjs|mjs|md|html|ya?ml)$/.test(path) && existsSync(join(ROOT, path)));
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');
const markdown = tracked.filter((path) => path.endsWith('.md'));

/** The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens. */
function anchorOf(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
}

function headingsOf(path: string): string[] {
  return read(path)
    .split('\n')
    .filter((line) => /^#{1,6} /.test(line))
    .map((line) => line.replace(/^#{1,6} /, ''));
}

describe('references in the code and the docs', () => {
  it('cite docs/reference.md, not the specification file that is not in the repository', () => {
    const stale = tracked.filter((path) => /\bSPEC(\.md| §)/.test(read(path)));
    expect(stale).toEqual([]);
  });

  it('cite only sections docs/reference.md has', () => {
    const sections = new Set(
      headingsOf('docs/reference.md').flatMap((heading) => /^§(\w+) /.exec(heading)?.[1] ?? []),
    );
    expect(sections.size).toBeGreaterThan(8);
    const cited = new Map<string, string>();
    for (const path of tracked) {
      for (const match of read(path).matchAll(/reference\.md\)? §(\d+[a-z]?)/g)) cited.set(match[1]!, path);
    }
    expect(cited.size).toBeGreaterThan(3);
    expect([...cited].filter(([section]) => !sections.has(section))).toEqual([]);
  });

  it('link the docs and the README to files and headings that exist', () => {
    const broken: string[] = [];
    let checked = 0;
    for (const path of markdown) {
      for (const match of read(path).matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = match[1]!;
        if (/^[a-z]+:/i.test(target)) continue; // https:, mailto:
        const [file, anchor] = target.split('#', 2) as [string, string | undefined];
        const linked = file === '' ? path : join(dirname(path), file);
        checked++;
        if (!existsSync(join(ROOT, linked))) broken.push(`${path}: ${target} (no such file)`);
        else if (anchor && linked.endsWith('.md') && !headingsOf(linked).map(anchorOf).includes(anchor))
          broken.push(`${path}: ${target} (no such heading)`);
      }
    }
    expect(checked).toBeGreaterThan(10);
    expect(broken).toEqual([]);
  });
});
