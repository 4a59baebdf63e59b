import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { exactMessages } from './bulk-json-logs.js';

describe('exactMessages', () => {
  it('gives the distinct messages exactly when at least half of the lines repeat an earlier one', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('a', 'b', 'c 1', 'é <x>', ''), { maxLength: 40 }),
        fc.array(fc.string()),
        (repeated, other) => {
          const messages = [...repeated, ...other];
          const distinct = new Set(messages);
          const result = exactMessages(messages);
          const repeats = messages.length - distinct.size;
          if (messages.length > 0 && repeats * 2 >= messages.length) expect(result).toEqual(distinct);
          else expect(result).toBeUndefined();
        },
      ),
    );
  });

  it('leaves unique messages to the mask', () => {
    expect(exactMessages(['GET /a/1', 'GET /a/2', 'GET /a/3'])).toBeUndefined();
    expect(exactMessages([])).toBeUndefined();
    expect(exactMessages(['ok', 'ok', 'ok', 'x'])).toEqual(new Set(['ok', 'x']));
  });
});
