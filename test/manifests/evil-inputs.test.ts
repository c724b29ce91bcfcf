import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_YAML_LIMITS } from '../../src/manifests/limits.js';
import { findExcessiveDepth, parseYamlFile } from '../../src/manifests/parse-yaml.js';
import { validateManifests } from '../../src/manifests/validate-manifests.js';
import { bundledManifests, fileInput } from './helpers.js';

function aliasBomb(levels: number): string {
  let text = 'a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n';
  let previous = 'a';
  for (let i = 0; i < levels; i++) {
    text += `l${i}: &l${i} [${Array.from({ length: 10 }, () => `*${previous}`).join(', ')}]\n`;
    previous = `l${i}`;
  }
  return text;
}

const EVIL: [name: string, content: () => string | Buffer, rule: string][] = [
  ['alias bomb (10^10 expansions)', () => aliasBomb(9), 'yaml.alias-limit'],
  ['5,000-deep flow nesting', () => `a: ${'['.repeat(5000)}${']'.repeat(5000)}\n`, 'yaml.too-deep'],
  ['5,000-deep flow mappings', () => `${'{a: '.repeat(5000)}1${'}'.repeat(5000)}\n`, 'yaml.too-deep'],
  ['5,000-deep compact sequences', () => `${'- '.repeat(5000)}x\n`, 'yaml.too-deep'],
  ['a 20 MB file', () => Buffer.alloc(20 * 1024 * 1024, 'a: b\n'), 'yaml.too-large'],
  ['!!js/function', () => 'kind: Provider\nrun: !!js/function "function () { process.exit(1) }"\n', 'yaml.tag'],
  ['a local tag', () => 'kind: !Provider Provider\n', 'yaml.tag'],
  ['__proto__ key', () => 'kind: Provider\n__proto__:\n  isAdmin: true\n', 'yaml.unsafe-key'],
  ['duplicate keys', () => 'kind: Provider\nkind: AuditDelivery\n', 'yaml.duplicate-key'],
  ['binary garbage', () => Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 256)), 'yaml.binary'],
  ['invalid UTF-8 without NUL', () => Buffer.from([0x6b, 0x3a, 0x20, 0xc3, 0x28, 0x0a]), 'yaml.invalid-utf8'],
  ['too many documents', () => 'a: 1\n---\n'.repeat(150), 'yaml.too-many-documents'],
  ['YAML 1.1 directive', () => '%YAML 1.1\n---\non: yes\n', 'yaml.version'],
];

describe('evil inputs', () => {
  // Compile the schemas once outside the timed part (the CLI pays this once per process too).
  beforeAll(() => {
    validateManifests(bundledManifests());
  });

  it.each(EVIL)('%s gives a finding in under a second and the other files still validate', (_name, content, rule) => {
    const evil = content();
    const started = performance.now();
    const result = validateManifests([...bundledManifests(), fileInput('manifests/evil.yaml', evil)]);
    const elapsed = performance.now() - started;
    expect(elapsed).toBeLessThan(1000);
    const evilFindings = result.findings.filter((f) => f.file === 'manifests/evil.yaml');
    expect(evilFindings.map((f) => f.rule)).toContain(rule);
    expect(result.findings.filter((f) => f.file !== 'manifests/evil.yaml')).toEqual([]);
    expect(result.manifests.providers).toHaveLength(2);
    expect(result.manifests.deliveries).toHaveLength(1);
    expect(result.manifests.acknowledgements).toHaveLength(1);
    expect(result.manifests.approvals).toHaveLength(1);
    expect(result.manifests.policy).not.toBeNull();
  });

  it('never quotes the source in messages (yaml would quote the offending line)', () => {
    const result = parseYamlFile('f.yaml', 'a: [1, 2\nsecret: "unterminated\n', DEFAULT_YAML_LIMITS);
    const messages = result.documents.flatMap((d) => d.findings.map((f) => f.message)).join('\n');
    expect(messages).not.toContain('unterminated');
    expect(messages).toContain('cannot be parsed');
  });

  it('honours custom limits', () => {
    const result = parseYamlFile('f.yaml', 'a:\n  b:\n    c: 1\n', { ...DEFAULT_YAML_LIMITS, maxDepth: 2 });
    expect([...result.findings, ...result.documents.flatMap((d) => d.findings)].map((f) => f.rule)).toEqual([
      'yaml.too-deep',
    ]);
    expect(parseYamlFile('f.yaml', 'a: 1\n', { ...DEFAULT_YAML_LIMITS, maxFileBytes: 3 }).findings[0]?.rule).toBe(
      'yaml.too-large',
    );
  });

  it.each([
    ['flat mapping', 'a: 1\nb: [1, 2]\n', false],
    ['64 levels of block maps are fine', Array.from({ length: 64 }, (_, i) => `${' '.repeat(i)}k:`).join('\n'), false],
    ['65 levels of block maps are not', Array.from({ length: 65 }, (_, i) => `${' '.repeat(i)}k:`).join('\n'), true],
    ['brackets in comments do not count', `a: 1 # ${'['.repeat(100)}\n`, false],
  ])('the depth pre-scan: %s', (_name, text, tooDeep) => {
    const found = findExcessiveDepth(text, 64);
    // When too deep, the offset is that of the first node beyond the limit (the last line here).
    expect(found).toBe(tooDeep ? text.lastIndexOf('k:') : null);
  });
});
