import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { validateManifests } from '../../src/manifests/validate-manifests.js';
import { FIXTURES, bundledManifests, fileInput, fixtureFiles } from './helpers.js';

type Expected = Record<string, { line: number; rule: string }[]>;
const expected = JSON.parse(readFileSync(`${FIXTURES}invalid/expected.json`, 'utf8')) as Expected;
const invalid = fixtureFiles('invalid');

describe('fixture corpus', () => {
  it('has at least 40 invalid fixtures, each with an expectation, and no stale expectations', () => {
    expect(invalid.length).toBeGreaterThanOrEqual(40);
    expect(Object.keys(expected).sort()).toEqual(invalid);
    for (const name of invalid) expect(expected[name]!.length, name).toBeGreaterThan(0);
  });

  it.each(invalid)('%s gives exactly its expected findings, and the bundled manifests stay valid', (name) => {
    const path = `manifests/fixtures/${name}`;
    const result = validateManifests([
      ...bundledManifests(),
      fileInput(path, readFileSync(`${FIXTURES}invalid/${name}`)),
    ]);
    expect(result.findings.map((f) => ({ file: f.file, line: f.line, rule: f.rule }))).toEqual(
      expected[name]!.map((e) => ({ file: path, ...e })),
    );
    // The rest of the repository still loads.
    expect(result.manifests.providers.map((p) => p.name)).toEqual(expect.arrayContaining(['ops-file', 'ops-webhook']));
    expect(result.manifests.approvals.map((a) => a.name)).toContain('approve-ops-webhook-2026-06-28');
    for (const condition of result.conditions.filter((c) => c.file === path && !c.ready)) {
      expect(condition.reason).toMatch(/^[A-Z][A-Za-z]+$/);
      expect(condition.message).toMatch(/^Skipped: /);
    }
    expect(result.conditions.some((c) => c.file === path && !c.ready)).toBe(true);
  });

  it('the valid fixtures and the bundled manifests produce no findings at all', () => {
    const files = [
      ...bundledManifests(),
      ...fixtureFiles('valid').map((name) => fileInput(`manifests/valid/${name}`, readFileSync(`${FIXTURES}valid/${name}`))),
    ];
    const result = validateManifests(files);
    expect(result.findings).toEqual([]);
    expect(result.conditions.every((c) => c.ready && c.reason === 'Valid')).toBe(true);
    expect(result.conditions).toHaveLength(19);
    expect(result.manifests.policy?.name).toBe('default');
    expect(result.manifests.closures).toHaveLength(1);
  });

  it('findings are sorted by file, line, column and rule whatever the input order', () => {
    const names = ['secret-in-key.yaml', 'duplicate-name.yaml', 'alias-bomb.yaml', 'unknown-field.yaml'];
    const files = names.map((n) => fileInput(`manifests/fixtures/${n}`, readFileSync(`${FIXTURES}invalid/${n}`)));
    const forward = validateManifests([...bundledManifests(), ...files]).findings;
    const backward = validateManifests([...files.reverse(), ...bundledManifests().reverse()]).findings;
    expect(backward).toEqual(forward);
    const keys = forward.map((f) => `${f.file}\u0000${String(f.line).padStart(6, '0')}`);
    expect([...keys].sort()).toEqual(keys);
  });
});
