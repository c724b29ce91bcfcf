/**
 * Safe parsing of untrusted YAML (pure: bytes in, documents and findings out). Every limit in
 * YamlLimits is enforced before the parser could be hurt by it: size before parsing, nesting depth
 * by an iterative pre-scan (so 5,000-deep input cannot overflow the recursive composer), aliases
 * by yaml's expansion counter. Messages are written here from yaml's error *codes*, never from
 * yaml's own messages, which quote the source line (and so could quote a secret).
 */
import {
  Composer,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  Parser,
  type CST,
  type Document,
  type Node,
} from 'yaml';
import type { Finding } from '../domain/types.js';
import { InternalError } from '../errors.js';
import type { YamlLimits } from './limits.js';
import { makeFinding, type RuleId } from './rules.js';
import { detectSecretInComment } from './secrets.js';

export interface Position {
  line: number;
  column: number;
}

/** One YAML document of a file. `value` is undefined when the document could not be used. */
export interface ParsedDocument {
  index: number;
  line: number;
  column: number;
  /** The plain JS value (maps → objects, sequences → arrays); undefined when unusable or empty. */
  value: unknown;
  /** True when the document has no content at all (only comments, or an empty `---`). */
  empty: boolean;
  /** Error findings of this document; a document with any is not usable. */
  findings: Finding[];
  document: Document.Parsed;
}

export interface ParsedYamlFile {
  path: string;
  /** File-level findings (size, encoding, depth, document count); when any, `documents` is empty. */
  findings: Finding[];
  documents: ParsedDocument[];
  lineCounter: LineCounter;
  /** The text parsed ('' when a file-level finding stopped the parse). */
  text: string;
}

const UNSAFE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const UNSAFE_KEY_TEXT = /__proto__|constructor|prototype/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Parse one file's bytes into documents, enforcing `limits`. Never throws on any input. */
export function parseYamlFile(path: string, content: Buffer | string, limits: YamlLimits): ParsedYamlFile {
  const lineCounter = new LineCounter();
  const fileFinding = (rule: RuleId, message: string, at: Position = { line: 1, column: 1 }): ParsedYamlFile => ({
    path,
    findings: [makeFinding({ file: path, line: at.line, column: at.column, rule, message })],
    documents: [],
    lineCounter,
    text: '',
  });

  const size = typeof content === 'string' ? Buffer.byteLength(content) : content.length;
  if (size > limits.maxFileBytes) {
    return fileFinding(
      'yaml.too-large',
      `The file is ${size} bytes, more than the limit of ${limits.maxFileBytes}; split it into smaller files.`,
    );
  }
  let text: string;
  if (typeof content === 'string') {
    text = content;
  } else {
    if (content.includes(0)) {
      return fileFinding('yaml.binary', 'The file contains NUL bytes; manifests must be UTF-8 YAML text.');
    }
    try {
      text = utf8.decode(content);
    } catch {
      return fileFinding('yaml.invalid-utf8', 'The file is not valid UTF-8; save it as UTF-8 YAML text.');
    }
  }
  if (text.includes('\0')) {
    return fileFinding('yaml.binary', 'The file contains NUL characters; manifests must be YAML text.');
  }
  // eslint-disable-next-line no-control-regex
  const control = /[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]/.exec(text);
  if (control !== null) {
    return fileFinding(
      'yaml.binary',
      'The file contains control characters that YAML does not allow; remove them.',
      positionOfOffset(text, control.index),
    );
  }

  const deep = findExcessiveDepth(text, limits.maxDepth);
  if (deep !== null) {
    return fileFinding(
      'yaml.too-deep',
      `Collections are nested more than ${limits.maxDepth} levels deep; flatten the document.`,
      positionOfOffset(text, deep),
    );
  }

  // What parseAllDocuments does, in its two steps, so the concrete syntax tree (the only place
  // comments keep their position) is at hand for the secret scan of comments.
  const tokens = Array.from(new Parser(lineCounter.addNewLine).parse(text));
  const composer = new Composer({
    uniqueKeys: true,
    version: '1.2',
    schema: 'core',
    customTags: [],
    resolveKnownTags: false,
    merge: false,
    strict: true,
    stringKeys: false,
  });
  const documents: Document.Parsed[] = Array.from(composer.compose(tokens));
  const commentSecrets = text.includes('#') ? findCommentSecrets(path, tokens, lineCounter) : [];
  if (documents.length === 0) {
    // The file holds no documents at all: only comments (or nothing).
    return { path, findings: commentSecrets.map((hit) => hit.finding), documents: [], lineCounter, text };
  }
  if (documents.length > limits.maxDocuments) {
    return fileFinding(
      'yaml.too-many-documents',
      `The file holds ${documents.length} YAML documents, more than the limit of ${limits.maxDocuments}; split it into several files.`,
    );
  }
  const checkKeys = UNSAFE_KEY_TEXT.test(text);
  return {
    path,
    findings: [],
    documents: documents.map((document, index) =>
      toParsedDocument(path, document, index, lineCounter, limits, checkKeys, [
        ...commentSecrets.filter((hit) => documentOf(documents, hit.offset) === index).map((hit) => hit.finding),
      ]),
    ),
    lineCounter,
    text,
  };
}

interface CommentSecret {
  offset: number;
  finding: Finding;
}

/**
 * Secrets in comments (docs/reference.md §3: "No secret material anywhere"). Comments are found in
 * the CST, so a `#` inside a quoted or block scalar is not mistaken for one. Walked iteratively:
 * the nesting is already bounded by the depth pre-scan, but the walk must not depend on that.
 */
function findCommentSecrets(path: string, tokens: readonly CST.Token[], lineCounter: LineCounter): CommentSecret[] {
  const hits: CommentSecret[] = [];
  const stack: unknown[] = [...tokens];
  while (stack.length > 0) {
    const item = stack.pop();
    if (Array.isArray(item)) {
      for (const child of item) stack.push(child);
      continue;
    }
    if (item === null || typeof item !== 'object') continue;
    const token = item as { type?: unknown; offset?: unknown; source?: unknown };
    if (token.type === 'comment' && typeof token.offset === 'number' && typeof token.source === 'string') {
      const match = detectSecretInComment(token.source.slice(1));
      if (match !== null) {
        const at = lineCounter.linePos(token.offset);
        hits.push({
          offset: token.offset,
          finding: makeFinding({
            file: path,
            line: at.line,
            column: at.col,
            rule: match.rule,
            message: `This comment holds what looks like ${match.label}; comments are committed like everything else, so remove it (and rotate it), and keep the value in the environment variable a \`*_env\` field names.`,
          }),
        });
      }
      continue;
    }
    for (const value of Object.values(item)) if (value !== null && typeof value === 'object') stack.push(value);
  }
  return hits.sort((a, b) => a.offset - b.offset);
}

/** The document a source offset belongs to: the last one starting at or before it, else the first. */
function documentOf(documents: readonly Document.Parsed[], offset: number): number {
  let index = 0;
  documents.forEach((document, i) => {
    if (document.range[0] <= offset) index = i;
  });
  return index;
}

function toParsedDocument(
  path: string,
  document: Document.Parsed,
  index: number,
  lineCounter: LineCounter,
  limits: YamlLimits,
  checkKeys: boolean,
  commentFindings: Finding[],
): ParsedDocument {
  const start = document.contents?.range[0] ?? document.range[0];
  const at = lineCounter.linePos(start);
  const findings: Finding[] = [...commentFindings];
  const add = (rule: RuleId, message: string, offset: number): void => {
    const pos = lineCounter.linePos(offset);
    findings.push(makeFinding({ file: path, line: pos.line, column: pos.col, rule, message }));
  };

  const version = document.directives?.yaml;
  if (version?.explicit === true && version.version !== '1.2') {
    add('yaml.version', `The %YAML directive asks for version ${version.version}; only YAML 1.2 is accepted, remove the directive.`, document.range[0]);
  }
  for (const error of document.errors) {
    const offset = error.pos[0];
    switch (error.code) {
      case 'DUPLICATE_KEY':
        add('yaml.duplicate-key', 'This mapping has the same key twice; keep one of them.', offset);
        break;
      case 'BAD_DIRECTIVE':
        add('yaml.directive', 'This directive is unknown or malformed; remove it.', offset);
        break;
      default:
        add('yaml.syntax', `The YAML cannot be parsed (${describeYamlError(error.code)}); fix the syntax at this position.`, offset);
    }
  }
  for (const warning of document.warnings) {
    const offset = warning.pos[0];
    if (warning.code === 'TAG_RESOLVE_FAILED') {
      add('yaml.tag', 'Explicit and custom tags (like !!js/function or !foo) are not allowed; write plain YAML values.', offset);
    } else if (warning.code === 'BAD_DIRECTIVE') {
      add('yaml.directive', 'This directive is unknown or malformed; remove it.', offset);
    } else {
      add('yaml.syntax', `The YAML is ambiguous (${describeYamlError(warning.code)}); fix the syntax at this position.`, offset);
    }
  }
  if (document.contents !== null) {
    walkNodes(document.contents, limits.maxDepth, checkKeys, add);
  }

  const empty = document.contents === null || (isScalar(document.contents) && document.contents.value === null && document.contents.range[0] === document.contents.range[1]);
  let value: unknown;
  if (findings.length === 0 && !empty) {
    try {
      value = document.toJS({ maxAliasCount: limits.maxAliasCount });
    } catch (error) {
      if (error instanceof ReferenceError && /alias/i.test(error.message)) {
        add('yaml.alias-limit', `Aliases expand to more than ${limits.maxAliasCount} nodes (a possible alias bomb); write the values out or use fewer aliases.`, start);
      } else {
        add('yaml.syntax', 'The YAML document cannot be converted to data (an unresolved alias?); fix the document.', start);
      }
      value = undefined;
    }
  }
  return { index, line: at.line, column: at.col, value, empty, findings, document };
}

/**
 * Iterative walk of the composed nodes: exact nesting depth, and `__proto__`-style keys (only
 * searched when the text contains one of those words, to keep the common path cheap).
 */
function walkNodes(
  root: Node,
  maxDepth: number,
  checkKeys: boolean,
  add: (rule: RuleId, message: string, offset: number) => void,
): void {
  const stack: { node: unknown; depth: number }[] = [{ node: root, depth: 1 }];
  let reportedDepth = false;
  while (stack.length > 0) {
    const { node, depth } = stack.pop()!;
    if (isMap(node) || isSeq(node)) {
      if (depth > maxDepth) {
        if (!reportedDepth) {
          add('yaml.too-deep', `Collections are nested more than ${maxDepth} levels deep; flatten the document.`, node.range?.[0] ?? 0);
          reportedDepth = true;
        }
        continue;
      }
      for (const item of node.items) {
        if (isPair(item)) {
          if (checkKeys && isScalar(item.key) && typeof item.key.value === 'string' && UNSAFE_KEYS.has(item.key.value)) {
            add('yaml.unsafe-key', `The key ${item.key.value} is not allowed (prototype pollution); rename it.`, item.key.range?.[0] ?? 0);
          }
          if (isMap(item.key) || isSeq(item.key)) stack.push({ node: item.key, depth: depth + 1 });
          stack.push({ node: item.value, depth: depth + 1 });
        } else {
          stack.push({ node: item, depth: depth + 1 });
        }
      }
    }
  }
}

/**
 * Conservative, linear pre-scan of nesting (flow brackets plus block indentation and compact
 * `- - -` sequences) so that pathological input never reaches the recursive composer. Returns the
 * offset where the limit is first exceeded, or null. Brackets inside quoted scalars are counted
 * too: a false alarm needs more than `maxDepth` of them, which real manifests never have.
 */
export function findExcessiveDepth(text: string, maxDepth: number): number | null {
  let flow = 0;
  const indents: number[] = [];
  let lineStart = true;
  let indent = 0;
  let inComment = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 10 /* \n */) {
      lineStart = true;
      indent = 0;
      inComment = false;
      continue;
    }
    if (inComment) continue;
    if (lineStart) {
      if (ch === 32 /* space */) {
        indent++;
        continue;
      }
      if (ch === 13 || ch === 35 /* # */) {
        if (ch === 35) inComment = true;
        continue;
      }
      lineStart = false;
      if (flow === 0) {
        while (indents.length > 0 && indents[indents.length - 1]! >= indent) indents.pop();
        indents.push(indent);
        // Compact block sequences: every `- ` at the start of the line opens one more level.
        let j = i;
        let dashes = 0;
        while (text.charCodeAt(j) === 45 /* - */ && text.charCodeAt(j + 1) === 32) {
          dashes++;
          j += 2;
          while (text.charCodeAt(j) === 32) j++;
        }
        if (indents.length + dashes > maxDepth) return i;
      }
    }
    if (ch === 35 && (text.charCodeAt(i - 1) === 32 || text.charCodeAt(i - 1) === 9)) {
      inComment = true;
    } else if (ch === 91 /* [ */ || ch === 123 /* { */) {
      flow++;
      if (flow + indents.length > maxDepth) return i;
    } else if ((ch === 93 /* ] */ || ch === 125) /* } */ && flow > 0) {
      flow--;
    }
  }
  return null;
}

function describeYamlError(code: string): string {
  return code.toLowerCase().replace(/_/g, ' ');
}

function positionOfOffset(text: string, offset: number): Position {
  let line = 1;
  let lastNewline = -1;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lastNewline = i;
    }
  }
  return { line, column: offset - lastNewline };
}

/**
 * A parsed document whose tree is parsed again when asked for. A class: its fields stay in the
 * object (an object literal with a getter, or defineProperty, makes a dictionary of each).
 */
class ReleasedDocument implements ParsedDocument {
  readonly #treeOf: (index: number) => Document.Parsed;

  constructor(
    readonly index: number,
    readonly line: number,
    readonly column: number,
    readonly value: unknown,
    readonly empty: boolean,
    readonly findings: Finding[],
    treeOf: (index: number) => Document.Parsed,
  ) {
    this.#treeOf = treeOf;
  }

  get document(): Document.Parsed {
    return this.#treeOf(this.index);
  }
}

let emptyTree: Document.Parsed | null = null;

/**
 * Documents known by their values alone (no text), as a file to validate: for a reader that takes
 * a few documents of a file from the history walk's summaries instead of reading and parsing the
 * whole file again (verify's gate recompute). Having no text, a finding on one is put at line 1.
 */
export function fileOfDocumentValues(
  path: string,
  documents: readonly { index: number; value: unknown }[],
): ParsedYamlFile {
  const lineCounter = new LineCounter();
  lineCounter.addNewLine(0);
  const treeOf = (): Document.Parsed => (emptyTree ??= parseDocument(''));
  return {
    path,
    findings: [],
    lineCounter,
    text: '',
    documents: documents.map(
      (document) => new ReleasedDocument(document.index, 1, 1, document.value, false, [], treeOf),
    ),
  };
}

/**
 * The same parse without its syntax trees, for a file that waits to be validated while the rest
 * of the revision is parsed (the history walk hands every file of a revision over at once: 10,000
 * trees of ~8 KB each). Values, positions and findings stay; a document's tree is parsed again
 * from the text, with the same limits, only when a finding must be placed in it.
 */
export function releaseSyntaxTrees(file: ParsedYamlFile, limits: YamlLimits): ParsedYamlFile {
  if (file.documents.length === 0) return file;
  return { ...file, documents: lazyTrees(file.path, file.text, file.documents, limits) };
}

/** Documents whose trees are parsed again on demand (a function of its own: it must not keep `file`). */
function lazyTrees(
  path: string,
  text: string,
  parsedDocuments: readonly ParsedDocument[],
  limits: YamlLimits,
): ParsedDocument[] {
  let reparsed: ParsedYamlFile | null = null;
  const treeOf = (index: number): Document.Parsed => {
    reparsed ??= parseYamlFile(path, text, limits);
    const again = reparsed.documents.find((candidate) => candidate.index === index);
    if (again === undefined)
      throw new InternalError(`re-parsing ${path} did not give back its document ${index}.`);
    return again.document;
  };
  return parsedDocuments.map((parsed): ParsedDocument => {
    const { index, line, column, value, empty, findings } = parsed;
    return new ReleasedDocument(index, line, column, value, empty, findings, treeOf);
  });
}

/**
 * Line and column of the node at `segments` (JSON-pointer segments) in a document; with `key`,
 * of the key of the last segment. Falls back to the deepest node that exists.
 */
export function locatePath(
  parsed: ParsedDocument,
  lineCounter: LineCounter,
  segments: readonly (string | number)[],
  options: { key?: boolean } = {},
): Position {
  let node: unknown = parsed.document.contents;
  let offset = parsed.document.contents?.range[0] ?? parsed.document.range[0];
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    const last = i === segments.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === String(segment));
      if (pair === undefined) break;
      const keyOffset = isScalar(pair.key) ? pair.key.range?.[0] : undefined;
      const valueNode = pair.value as Node | null;
      if ((last && options.key === true) || valueNode === null || valueNode.range == null) {
        offset = keyOffset ?? offset;
        node = valueNode;
        if (last || valueNode === null) break;
        continue;
      }
      offset = valueNode.range[0];
      node = valueNode;
    } else if (isSeq(node)) {
      const item = node.items[Number(segment)] as Node | undefined;
      if (item?.range == null) break;
      offset = item.range[0];
      node = item;
    } else {
      break;
    }
  }
  const pos = lineCounter.linePos(offset);
  return { line: pos.line, column: pos.col };
}
