import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MANIFEST_KINDS } from '../../src/domain/types.js';
import { RULES } from '../../src/manifests/rules.js';
import { allSchemas, schemaFileName, validateDocument } from '../../src/schemas/index.js';
import { pointerSegments } from '../../src/manifests/schema-findings.js';
import { REPO_ROOT } from '../manifests/helpers.js';

type SchemaNode = Record<string, unknown>;

/** Every object schema with `properties`, and every property schema, with its location. */
function walk(node: unknown, at: string, visit: (node: SchemaNode, at: string) => void): void {
  if (node === null || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    node.forEach((child, i) => walk(child, `${at}/${i}`, visit));
    return;
  }
  visit(node as SchemaNode, at);
  for (const [key, child] of Object.entries(node)) walk(child, `${at}/${key}`, visit);
}

describe('published schemas', () => {
  it.each(MANIFEST_KINDS.map((kind) => [kind]))('%s: 2020-12, $id, descriptions, closed objects, limits', (kind) => {
    const schema = allSchemas().find((s) => s.kind === kind)!.schema;
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.$id).toBe(`https://cavra.dev/schemas/v1/${schemaFileName(kind)}`);
    expect((schema.properties as SchemaNode).kind).toMatchObject({ const: kind });
    walk(schema, '#', (node, at) => {
      if (node.properties !== undefined) {
        expect(node.additionalProperties, `${at} must be closed`).toBe(false);
        for (const [name, property] of Object.entries(node.properties as SchemaNode)) {
          expect(typeof (property as SchemaNode).description, `${at}/properties/${name} needs a description`).toBe('string');
        }
      }
      if (node.type === 'string' && node.const === undefined && node.enum === undefined) {
        expect(node.maxLength, `${at} needs maxLength`).toBeTypeOf('number');
      }
      if (node.type === 'array') expect(node.maxItems, `${at} needs maxItems`).toBeTypeOf('number');
    });
  });

  it('the files on disk are the ones served', () => {
    for (const { file, schema } of allSchemas()) {
      expect(JSON.parse(readFileSync(`${REPO_ROOT}schemas/${file}`, 'utf8'))).toEqual(schema);
    }
  });

  it.each([
    ['a name of 63 characters', 'a'.repeat(63), true],
    ['a name of 64 characters', 'a'.repeat(64), false],
    ['a name ending in -', 'ops-', false],
    ['a name with a dot', 'ops.file', false],
  ])('DNS-1123 names: %s', (_label, name, valid) => {
    const errors = validateDocument('Provider', {
      apiVersion: 'cavra.dev/v1',
      kind: 'Provider',
      metadata: { name },
      spec: { type: 'file' },
    });
    expect(errors.length === 0).toBe(valid);
  });

  it('decodes JSON pointers', () => {
    expect(pointerSegments('/spec/a~1b/c~0d/0')).toEqual(['spec', 'a/b', 'c~d', '0']);
    expect(pointerSegments('')).toEqual([]);
  });
});

describe('docs/manifests.md', () => {
  it('documents every rule id', () => {
    const doc = readFileSync(`${REPO_ROOT}docs/manifests.md`, 'utf8');
    for (const rule of Object.keys(RULES)) expect(doc, rule).toContain(`\`${rule}\``);
  });
});
