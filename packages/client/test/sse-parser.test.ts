import { describe, expect, it } from 'vitest';
import { SseParser } from '../src/index.js';

const parseAll = (chunks: string[]) => {
  const p = new SseParser();
  return chunks.flatMap((c) => p.push(c));
};

describe('SseParser', () => {
  it('reads id, event and multi-line data, and ignores comments', () => {
    expect(parseAll([': stream open\n\nid: 7\nevent: state\ndata: a\ndata: b\n\n'])).toEqual([{ id: '7', event: 'state', data: 'a\nb' }]);
  });

  it('treats CRLF, LF and CR alike, even split across chunks', () => {
    const text = 'id: 1\r\ndata: x\r\n\r\nid: 2\rdata: y\r\rid: 3\ndata: z\n\n';
    const whole = parseAll([text]);
    expect(whole.map((m) => [m.id, m.data])).toEqual([
      ['1', 'x'],
      ['2', 'y'],
      ['3', 'z'],
    ]);
    // Every split point, CR and LF of one CRLF in different chunks included, gives the same.
    for (let i = 1; i < text.length; i++) expect(parseAll([text.slice(0, i), text.slice(i)])).toEqual(whole);
    expect(parseAll(text.split(''))).toEqual(whole);
  });

  it('follows the field rules: one optional space, no colon, unknown fields, empty data', () => {
    const got = parseAll(['data:no-space\n\n', 'data\n\n', 'data:  two\n\n', 'foo: bar\ndata: 1\n\n', 'event: only\n\n', 'data: after\n\n']);
    expect(got).toEqual([
      { id: undefined, event: 'message', data: 'no-space' },
      { id: undefined, event: 'message', data: '' },
      { id: undefined, event: 'message', data: ' two' },
      { id: undefined, event: 'message', data: '1' },
      // `event: only` had no data: not dispatched, and its type does not leak into the next.
      { id: undefined, event: 'message', data: 'after' },
    ]);
  });

  it('strips a leading BOM, keeps an unfinished message for the next chunk, reads retry', () => {
    const p = new SseParser();
    expect(p.push('\uFEFFretry: 1500\nid: 9\ndata: {"a":')).toEqual([]);
    expect(p.reconnectMs).toBe(1500);
    expect(p.push('1}\n\n')).toEqual([{ id: '9', event: 'message', data: '{"a":1}' }]);
  });
});
