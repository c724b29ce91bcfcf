/**
 * "a" or "an" before a generated word (a kind, a type, a table name), so messages read
 * "an AuditDelivery manifest", "a RetryApproval", "an object". Pure; decided by the sound of the
 * first letters, with the usual English exceptions for words that start with a vowel letter but a
 * consonant sound ("a user", "a one-off") or the reverse ("an hour").
 */

const CONSONANT_SOUND_VOWELS = /^(uni|use|usa|usu|ure|uri|uti|eu|ewe|one|once)/i;
const VOWEL_SOUND_CONSONANTS = /^(hour|honest|honou?r|heir)/i;

/** The indefinite article for `word`: `an` before a vowel sound, else `a`. */
export function indefiniteArticle(word: string): 'a' | 'an' {
  const text = word.trim();
  if (VOWEL_SOUND_CONSONANTS.test(text)) return 'an';
  if (CONSONANT_SOUND_VOWELS.test(text)) return 'a';
  return /^[aeiou]/i.test(text) ? 'an' : 'a';
}

/** `word` with its indefinite article: `an AuditDelivery`, `a RetryApproval`. */
export function withIndefiniteArticle(word: string): string {
  return `${indefiniteArticle(word)} ${word}`;
}
