/**
 * The logger scrubs known secret values from every line, as written and as JSON escapes them.
 */
import { describe, expect, it } from 'vitest';
import { createLogger, type Logger } from '../../src/observability/logger.js';

async function capture(secrets: string[], isTTY = false): Promise<{ lines: string[]; log: Logger }> {
  const lines: string[] = [];
  return { lines, log: await createLogger({ write: (text) => lines.push(text), isTTY, secrets }) };
}

describe('createLogger', () => {
  it.each([
    ['plain', 'tok_plain_1234'],
    ['with a quote', 'tok"quoted"1234'],
    ['with a backslash', 'tok\\back\\1234'],
    ['with a newline', 'tok\nline1234'],
  ])('never writes a secret %s, in the message or a field', async (_name, secret) => {
    const { lines, log } = await capture([secret]);
    log.warn({ detail: `header was ${secret}` }, `failed with ${secret}`);
    const output = lines.join('');
    expect(output).toContain('[redacted]');
    expect(output).not.toContain(secret);
    expect(output).not.toContain(JSON.stringify(secret).slice(1, -1));
    expect(JSON.parse(output)).toMatchObject({
      msg: 'failed with [redacted]',
      detail: 'header was [redacted]',
    });
  });

  it('the human format is redacted too', async () => {
    const { lines, log } = await capture(['tok"quoted"1234'], true);
    log.info('sent tok"quoted"1234');
    expect(lines.join('')).toMatch(/info +sent \[redacted\]/);
  });
});
