import { describe, expect, it } from 'vitest';
import { findPrivateHosts, isPrivateHost } from '../../src/manifests/hosts.js';

describe('isPrivateHost', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.8.9.10', true],
    ['10.1.2.3', true],
    ['172.16.0.1', true],
    ['172.31.255.255', true],
    ['172.32.0.1', false],
    ['192.168.1.1', true],
    ['169.254.169.254', true],
    ['0.0.0.0', true],
    ['::1', true],
    ['[::1]', true],
    ['fe80::1', true],
    ['fd00::1', true],
    ['::ffff:10.0.0.1', true],
    // How `new URL('http://[::ffff:127.0.0.1]/').hostname` spells it.
    ['[::ffff:7f00:1]', true],
    ['::ffff:a00:1', true],
    ['::ffff:808:808', false],
    ['localhost', true],
    ['LOCALHOST.', true],
    ['app.localhost', true],
    ['metadata.google.internal', true],
    ['printer.local', true],
    ['8.8.8.8', false],
    ['2001:4860:4860::8888', false],
    ['tickets.example.com', false],
  ])('%s → %s', (host, expected) => {
    expect(isPrivateHost(host)).toBe(expected);
  });
});

describe('findPrivateHosts', () => {
  it('checks URLs anywhere and bare hosts under host-like keys', () => {
    const hits = findPrivateHosts(
      {
        notes: 'see http://192.168.0.10/x and https://example.com',
        options: { host: '10.0.0.5:8088', index: 'localhost', endpoint: 'https://api.example.com' },
        external_ref: 'https://example.com/OPS-1',
      },
      ['spec'],
    );
    expect(hits.map((h) => h.segments.join('/')).sort()).toEqual(['spec/notes', 'spec/options/host']);
  });

  it('finds IPv4-mapped IPv6 loopback in URLs (the URL parser rewrites it in hex)', () => {
    const hits = findPrivateHosts({ external_ref: 'http://[::ffff:127.0.0.1]:8080/admin' }, ['spec']);
    expect(hits.map((h) => h.segments.join('/'))).toEqual(['spec/external_ref']);
  });
});
