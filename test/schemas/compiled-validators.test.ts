/**
 * The validators the product runs are compiled ahead of time from the published schemas
 * (scripts/compile-validators.ts). A schema edited without regenerating them would make the
 * product validate against an older schema than the one it publishes; this test catches that.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { VALIDATOR_MODULES, generateValidatorModule } from '../../scripts/compile-validators.js';

const ROOT = new URL('../../', import.meta.url);

describe('compiled validators', () => {
  for (const module of VALIDATOR_MODULES) {
    it(`${module.target} is what the schemas in ${module.schemas} compile to (npm run compile-validators)`, () => {
      const committed = readFileSync(new URL(module.target, ROOT), 'utf8');
      expect(committed === generateValidatorModule(module)).toBe(true);
    });
  }

  it('a schema change shows in the generated module', () => {
    const [manifests] = VALIDATOR_MODULES;
    const generated = generateValidatorModule(manifests!);
    expect(generated).toContain('"$id":"https://cavra.dev/schemas/v1/audit-delivery.schema.json"');
    expect(generated).toContain('"audit-delivery.schema.json": validate');
  });
});
