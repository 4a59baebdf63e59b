import { describe, expect, it } from 'vitest';
import { maskMessage, maskToken, tokenize, WILDCARD } from './variable-masking.js';

const masked = (message: string) => maskMessage(message).join(' ');

describe('maskToken', () => {
  it.each([
    ['numbers', '42', '<*>'],
    ['negative numbers', '-17', '<*>'],
    ['decimals', '3.14159', '<*>'],
    ['hex with prefix', '0x7fed806eb5d', '<*>'],
    ['bare hex ids', 'deadbeefcafe', '<*>'],
    ['hex with digits', '9f4ef63', '<*>'],
    ['UUIDs', '123e4567-e89b-12d3-a456-426614174000', '<*>'],
    ['IPv4', '10.0.0.1', '<*>'],
    ['IPv4 with port', '192.168.1.20:5432', '<*>'],
    ['IPv6', 'fe80::1ff:fe23:4567:890a', '<*>'],
    ['IPv6 with port', '[2001:db8::1]:8080', '<*>'],
    ['absolute paths', '/var/log/app/server.log', '<*>'],
    ['home paths', '~/data/x', '<*>'],
    ['Windows paths', 'C:\\Windows\\winsxs\\cbscore.dll', '<*>'],
    ['relative paths', './bin/run', '<*>'],
    ['URLs', 'https://example.com/a/b?c=1', '<*>'],
    ['e-mail addresses', 'alice@example.com', '<*>'],
    ['durations in ms', '3012ms', '<*>'],
    ['durations in s', '1.5s', '<*>'],
    ['dates', '2016-09-28', '<*>'],
    ['times', '04:30:30,978', '<*>'],
    ['ISO timestamps', '2024-05-01T12:00:00.123Z', '<*>'],
    ['key=value', 'uid=10037', 'uid=<*>'],
    ['key=value with words', 'user=alice', 'user=<*>'],
    ['ids with a prefix', 'blk_-6952295868487656571', 'blk_<*>'],
    ['compound ids', 'appattempt_1445144423722_0020_000001', 'appattempt_<*>'],
    ['versions', 'HTTP/1.1', 'HTTP/<*>'],
  ])('masks %s', (_kind, token, expected) => {
    expect(maskToken(token)).toBe(expected);
  });

  it.each([
    'connection',
    'timeout',
    'and/or',
    'TCP/IP',
    'failed:',
    'org.apache.hadoop.mapreduce',
    '[preauth]',
    'face',
  ])('keeps the word %s', (token) => {
    expect(maskToken(token)).toBe(token);
  });

  it('keeps brackets, quotes and trailing punctuation around a masked core', () => {
    expect(maskToken('(10.0.0.1:5432),')).toBe('(<*>),');
    expect(maskToken('[/10.10.34.11:45307]')).toBe('[<*>]');
    expect(maskToken("'42'.")).toBe("'<*>'.");
    expect(maskToken('flags=0x1,')).toBe('flags=<*>,');
  });

  it('masks very long tokens whole', () => {
    expect(maskToken('a'.repeat(500))).toBe(WILDCARD);
  });
});

describe('maskMessage', () => {
  it('masks the seed example', () => {
    expect(masked('DB connection timeout after 3012ms')).toBe('DB connection timeout after <*>');
  });

  it('masks weekday and month names next to timestamp parts', () => {
    expect(masked('started Sun Dec 04 04:47:44 2005 ok')).toBe('started <*> <*> <*> <*> <*> ok');
    expect(masked('May I help')).toBe('May I help');
  });

  it('masks a quoted key="value" spanning several tokens as one variable', () => {
    expect(masked('acquire tag="View Lock", name=x')).toBe('acquire tag="<*>", name=<*>');
  });

  it('splits on any whitespace and drops empty tokens', () => {
    expect(tokenize(' a \t b\r\n c  ')).toEqual(['a', 'b', 'c']);
  });

  it('ends a message with too many tokens in one trailing wildcard', () => {
    const tokens = maskMessage(Array.from({ length: 1000 }, (_, i) => `w${i % 2 ? 'x' : 'y'}`).join(' '), 10);
    expect(tokens).toHaveLength(11);
    expect(tokens[10]).toBe(WILDCARD);
  });

  it('cuts a huge line instead of splitting all of it', () => {
    const tokens = maskMessage(`start ${'word '.repeat(2_000_000)}`);
    expect(tokens.length).toBeLessThanOrEqual(257);
    expect(tokens[tokens.length - 1]).toBe(WILDCARD);
  });
});
