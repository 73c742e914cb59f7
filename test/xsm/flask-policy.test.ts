import { describe, expect, it } from 'vitest';
import { DEFAULT_FLASK_POLICY, PolicyError, parseFlaskPolicy } from '../../src/index.js';

describe('FLASK policy text', () => {
  it('expands attributes, sets and self', () => {
    const p = parseFlaskPolicy(`
      attribute domain_type;   # comment
      type a_t, domain_type;
      type b_t;
      typeattribute b_t domain_type;
      allow domain_type xen_t:argo enable;
      allow { a_t } b_t:argo { send register_single_source };
      allow b_t self:argo send;
    `);
    expect(p.allows('a_t', 'xen_t', 'enable')).toBe(true);
    expect(p.allows('b_t', 'xen_t', 'enable')).toBe(true);
    expect(p.allows('a_t', 'b_t', 'send')).toBe(true);
    expect(p.allows('b_t', 'a_t', 'send')).toBe(false);
    expect(p.allows('b_t', 'b_t', 'send')).toBe(true);
    expect(p.allows('a_t', 'b_t', 'register_any_source')).toBe(false);
  });

  it('the default policy is Xen guest_features.te for argo', () => {
    const p = parseFlaskPolicy(DEFAULT_FLASK_POLICY);
    expect(p.allows('domU_t', 'xen_t', 'register_any_source')).toBe(true);
    expect(p.allows('domU_t', 'dom0_t', 'send')).toBe(true);
    expect(p.allows('unlabelled_t', 'dom0_t', 'send')).toBe(false);
  });

  it('takes one statement per line with or without the closing semicolon', () => {
    const p = parseFlaskPolicy('allow a_t b_t:argo send\nallow b_t a_t : argo {send register_single_source};');
    expect(p.allows('a_t', 'b_t', 'send')).toBe(true);
    expect(p.allows('b_t', 'a_t', 'register_single_source')).toBe(true);
  });

  it('keeps rules of other classes aside', () => {
    const p = parseFlaskPolicy('allow a_t b_t:domain { create };');
    expect(p.otherRules).toEqual(['allow a_t b_t:domain { create };']);
    expect(p.allows('a_t', 'b_t', 'send')).toBe(false);
  });

  it.each([
    ['allow a_t b_t:argo { sned };', 1, /unknown argo permission "sned"/],
    ['type a_t, nosuch;', 1, /attribute "nosuch" is not declared/],
    ['\n\nallow a_t b_t:argo send; allow b_t a_t:argo send;', 3, /one statement per line/],
    ['permit a_t b_t:argo send;', 1, /unknown statement "permit"/],
    ['allow a_t:argo send;', 1, /expected "allow SOURCE TARGET:CLASS/],
  ])('reports %j at line %i with a fix', (text, line, message) => {
    try {
      parseFlaskPolicy(text, 'example.te');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(PolicyError);
      expect((e as PolicyError).line).toBe(line);
      expect((e as Error).message).toMatch(message);
      expect((e as Error).message).toMatch(new RegExp(`^example.te:${line}:`));
    }
  });
});
