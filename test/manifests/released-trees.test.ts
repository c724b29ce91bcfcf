/**
 * A file the history walk parsed is handed to validation without its syntax trees
 * (releaseSyntaxTrees): the result must be what validating the full parse gives, including the
 * line and column of findings, which re-parse the tree on demand.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_YAML_LIMITS } from '../../src/manifests/limits.js';
import { parseYamlFile, releaseSyntaxTrees } from '../../src/manifests/parse-yaml.js';
import { validateManifests } from '../../src/manifests/validate-manifests.js';
import { bundledManifests, fileInput } from './helpers.js';

const BROKEN = `apiVersion: cavra.dev/v1
kind: Provider
metadata:
  name: ok-provider
spec:
  type: webhook
  url_env: HOOK_URL
---
apiVersion: cavra.dev/v1
kind: Provider
metadata:
  name: broken-provider
spec:
  type: webhook
  url_env: 12
  surprise:
    nested: [1, 2]
`;

describe('releaseSyntaxTrees', () => {
  it('validates to the same result as the full parse, findings placed at the same line and column', () => {
    const inputs = [...bundledManifests(), fileInput('manifests/broken.yaml', BROKEN)];
    const full = validateManifests(inputs);
    expect(full.findings.some((finding) => finding.file === 'manifests/broken.yaml' && finding.line > 9)).toBe(
      true,
    );
    const released = validateManifests(
      inputs.map((input) => ({
        ...input,
        content: Buffer.alloc(0),
        parsed: releaseSyntaxTrees(parseYamlFile(input.path, input.content, DEFAULT_YAML_LIMITS), DEFAULT_YAML_LIMITS),
      })),
    );
    expect(released).toEqual(full);
  });

  it('keeps no tree until one is asked for, then gives the same tree', () => {
    const parsed = parseYamlFile('manifests/broken.yaml', BROKEN, DEFAULT_YAML_LIMITS);
    const released = releaseSyntaxTrees(parsed, DEFAULT_YAML_LIMITS);
    expect(released.documents.map(({ document: _tree, ...rest }) => rest)).toEqual(
      parsed.documents.map(({ document: _tree, ...rest }) => rest),
    );
    expect(released.documents[1]!.document.toJS()).toEqual(parsed.documents[1]!.document.toJS());
    expect(String(released.documents[1]!.document)).toBe(String(parsed.documents[1]!.document));
  });
});
