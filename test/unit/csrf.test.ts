import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CsrfTokens } from '../../src/http/public/interactions/csrf.js';

/**
 * Interaction form tokens: an HMAC of (form, interaction) under the server key. They live exactly
 * as long as the interaction they are bound to, so there is no clock here: what matters is that
 * nothing but the token for this form of this interaction under this key passes.
 */
describe('CSRF tokens for interaction forms', () => {
  const tokens = new CsrfTokens('server-key-one');
  const token = tokens.issue('uid-1', 'login');

  it('accepts the token it issued, on any instance with the same key', () => {
    assert.equal(tokens.valid('uid-1', 'login', token), true);
    assert.equal(new CsrfTokens('server-key-one').valid('uid-1', 'login', token), true);
  });

  it('rejects a token bound to another interaction, another form or another key', () => {
    assert.equal(tokens.valid('uid-2', 'login', token), false);
    assert.equal(tokens.valid('uid-1', 'consent', token), false);
    assert.equal(new CsrfTokens('server-key-two').valid('uid-1', 'login', token), false);
  });

  it('rejects a tampered token: one character changed, truncated, extended', () => {
    const last = token.at(-1) === 'A' ? 'B' : 'A';
    assert.equal(tokens.valid('uid-1', 'login', token.slice(0, -1) + last), false);
    assert.equal(tokens.valid('uid-1', 'login', token.slice(0, -1)), false);
    assert.equal(tokens.valid('uid-1', 'login', `${token}A`), false);
  });

  it('rejects what is not a string (missing field, repeated field)', () => {
    assert.equal(tokens.valid('uid-1', 'login', undefined), false);
    assert.equal(tokens.valid('uid-1', 'login', [token, token]), false);
    assert.equal(tokens.valid('uid-1', 'login', ''), false);
  });
});
