import { describe, expect, it } from 'vitest';
import {
  HttpProtocolError,
  normalizePath,
  redactQuery,
  forwardedFor,
} from '../../../src/protocols/http/index.js';
import { splitTarget } from '../../../src/protocols/http/request-facts.js';

describe('request facts', () => {
  it('removes dot segments after decoding unreserved escapes (RFC 3986 §5.2.4, §6.2.2.2)', () => {
    expect(normalizePath('/a/b/c/./../../g')).toBe('/a/g');
    expect(normalizePath('/a/%2e%2e/b')).toBe('/b');
    expect(normalizePath('/%41dmin')).toBe('/Admin');
    expect(normalizePath('/a/%2Fb')).toBe('/a/%2Fb');
    expect(normalizePath('/..')).toBe('/');
    expect(normalizePath('/a/.')).toBe('/a/');
    expect(normalizePath('/')).toBe('/');
  });

  it('splits the four request-target forms (RFC 9112 §3.2)', () => {
    expect(splitTarget('GET', '/p?q=1')).toEqual({ path: '/p', query: 'q=1' });
    expect(splitTarget('GET', 'http://h.example:81/p?x')).toEqual({
      path: '/p',
      query: 'x',
      authority: 'h.example:81',
    });
    expect(splitTarget('GET', 'http://h.example')).toEqual({ path: '/', authority: 'h.example' });
    expect(splitTarget('CONNECT', 'db.internal:5432')).toEqual({
      path: '',
      authority: 'db.internal:5432',
    });
    expect(splitTarget('OPTIONS', '*')).toEqual({ path: '*' });
    expect(() => splitTarget('GET', 'relative')).toThrow(HttpProtocolError);
    expect(() => splitTarget('GET', '*')).toThrow(HttpProtocolError);
  });

  it('redacts values of secret-looking query keys only', () => {
    expect(redactQuery('a=1&password=x&api_key=k&Access%5FToken=t&flag&sig=zz')).toBe(
      'a=1&password=REDACTED&api_key=REDACTED&Access%5FToken=REDACTED&flag&sig=REDACTED',
    );
    expect(redactQuery('%zz=1')).toBe('%zz=1');
  });

  it('quotes the for= node and brackets IPv6 (RFC 7239 §6)', () => {
    expect(forwardedFor('192.0.2.1', 80)).toBe('"192.0.2.1:80"');
    expect(forwardedFor('2001:db8::7', 9)).toBe('"[2001:db8::7]:9"');
  });
});
