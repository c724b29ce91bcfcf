import { describe, expect, it } from 'vitest';
import { indefiniteArticle, withIndefiniteArticle } from '../../src/domain/indefinite-article.js';
import { canonicalJson } from '../../src/domain/canonical-json.js';

describe('indefiniteArticle', () => {
  it.each([
    ['AuditDelivery', 'an'],
    ['RetryAcknowledgement', 'a'],
    ['RetryApproval', 'a'],
    ['ReconcilerPolicy', 'a'],
    ['RecoveryClosure', 'a'],
    ['object', 'an'],
    ['undefined', 'an'],
    ['incident', 'an'],
    ['Map', 'a'],
    ['user', 'a'],
    ['unique', 'a'],
    ['one-off', 'a'],
    ['hour', 'an'],
    ['webhook', 'a'],
  ])('%s takes "%s"', (word, article) => {
    expect(indefiniteArticle(word)).toBe(article);
    expect(withIndefiniteArticle(word)).toBe(`${article} ${word}`);
  });

  it('generated messages read "an": canonical JSON of undefined and of a Map', () => {
    expect(() => canonicalJson(undefined)).toThrow(/an undefined has no JSON representation/);
    expect(() => canonicalJson({ a: new Map() })).toThrow(/a Map has no JSON representation/);
  });
});
