/**
 * The published JSON Schemas (schemas/*.schema.json) and their validators (JSON Schema 2020-12,
 * strict mode, all errors), compiled ahead of time into ./compiled-validators.ts by
 * scripts/compile-validators.ts from these very files. Validation of a parsed document returns
 * ajv's errors; mapping them to findings is src/schemas/schema-findings.ts.
 */
import { readFileSync } from 'node:fs';
import type { ErrorObject } from 'ajv';
import { MANIFEST_KINDS, type ManifestKind } from '../domain/types.js';
import { InternalError } from '../errors.js';
import { validatorsByFile } from './compiled-validators.js';

/** Schema file name per kind, e.g. `RetryApproval` → `retry-approval.schema.json`. */
export function schemaFileName(kind: ManifestKind): string {
  return `${kind.replace(/([a-z])([A-Z])/g, '$1-$2').toLowerCase()}.schema.json`;
}

/** The schemas/ directory of the package (works from src/ under tsx and from dist/). */
export const SCHEMAS_DIR = new URL('../../schemas/', import.meta.url);

/** Each kind's compiled validator, looked up once (validation runs per document). */
const VALIDATORS = new Map(MANIFEST_KINDS.map((kind) => [kind, validatorsByFile[schemaFileName(kind)]]));

let loaded: Map<ManifestKind, Record<string, unknown>> | undefined;

function loadAll(): Map<ManifestKind, Record<string, unknown>> {
  const schemas = new Map<ManifestKind, Record<string, unknown>>();
  for (const kind of MANIFEST_KINDS) {
    const url = new URL(schemaFileName(kind), SCHEMAS_DIR);
    let schema: Record<string, unknown>;
    try {
      schema = JSON.parse(readFileSync(url, 'utf8')) as Record<string, unknown>;
    } catch (cause) {
      throw new InternalError(
        `The JSON Schema for ${kind} could not be loaded from ${url.pathname}; reinstall the package.`,
        { cause },
      );
    }
    schemas.set(kind, schema);
  }
  return schemas;
}

/** Validate a whole parsed document (apiVersion, kind, metadata, spec) against its kind's schema. */
export function validateDocument(kind: ManifestKind, value: unknown): ErrorObject[] {
  const validate = VALIDATORS.get(kind);
  if (validate === undefined) throw new InternalError(`No schema compiled for kind ${kind}.`);
  return validate(value) ? [] : [...(validate.errors ?? [])];
}

/** The schema of one kind, as published. */
export function schemaFor(kind: ManifestKind): Record<string, unknown> {
  loaded ??= loadAll();
  const schema = loaded.get(kind);
  if (schema === undefined) throw new InternalError(`No schema loaded for kind ${kind}.`);
  return schema;
}

/** Every schema by kind, in MANIFEST_KINDS order. */
export function allSchemas(): { kind: ManifestKind; file: string; schema: Record<string, unknown> }[] {
  return MANIFEST_KINDS.map((kind) => ({ kind, file: schemaFileName(kind), schema: schemaFor(kind) }));
}

/** True when `kind` names a manifest kind. */
export function isManifestKind(kind: unknown): kind is ManifestKind {
  return typeof kind === 'string' && (MANIFEST_KINDS as readonly string[]).includes(kind);
}
