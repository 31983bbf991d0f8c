import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Views } from '../../src/http/views.js';

const viewsIn = (files: Record<string, string>) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-views-'));
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, `${name}.html`), text);
  return dir;
};

describe('views: partials and unreadable tags', () => {
  it('includes a partial whose name has dashes (recovery-codes-list)', () => {
    const dir = viewsIn({ page: '<ul>{{>code-list}}</ul>', 'code-list': '{{#codes}}<li>{{.}}</li>{{/codes}}' });
    try {
      assert.equal(new Views(dir).fragment('page', { codes: ['a<b', 'c'] }), '<ul><li>a&#60;b</li><li>c</li></ul>');
    } finally {
      fs.rmSync(dir, { recursive: true });
    }
  });

  it('refuses at load a tag the grammar cannot read, instead of showing it on the page', () => {
    const dir = viewsIn({ page: '<p>{{>list of codes}}</p>' });
    try {
      assert.throws(() => new Views(dir), /view page\.html: unreadable tag \{\{>list of codes/);
    } finally {
      fs.rmSync(dir, { recursive: true });
    }
  });

  it('every shipped view loads', () => {
    const views = new Views();
    assert.match(views.fragment('recovery-codes', { codes: ['abcd-efgh-jkmn'] }), /aria-label="Recovery codes"/);
  });
});
