// The age-only tier on the desk page, at a bar whose policy takes only the age-only code
// (`accepted_tiers = ["age_only"]`): "Age only" / "仅年龄核验" and only "Over 18", a
// NOT OVER 18 banner a clerk cannot miss, and a basic code refused with the venue's words
// and none of its claims. Fixtures from crates/verify/tests/browser.rs (`ageOnly`).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fx, startDesk, launch, freshPage, scan } from './support.js';

let desk, base, browser;
const age = fx.ageOnly;

before(async () => {
  const d = await startDesk({ dataDir: age.dataDir, policy: age.policy });
  desk = d.p; base = d.url;
  browser = await launch();
});
after(async () => {
  await browser?.close();
  desk?.kill('SIGTERM');
});

const dataAge = (page) => page.getAttribute('#verdict', 'data-age');
const claimFields = (v) => Object.keys(v.fields).filter((k) => !['tier', 'proof-age', 'status', 'cache-age', 'key-protection'].includes(k));

test('an age-only verdict in English and Chinese: the tier, over 18 and nothing else', async () => {
  const { page, errors } = await freshPage(browser, base);
  // Over 18.
  let v = await scan(page, age.codes.over[0]);
  assert.equal(v.code, 'valid');
  assert.equal(v.banner, 'VALID');
  assert.equal(v.fields.tier, 'Age only');
  assert.deepEqual(claimFields(v), ['over-18'], 'no name, no ID number');
  assert.equal(v.fields['over-18'], 'yes');
  assert.equal(await dataAge(page), '');
  assert.equal(await page.isVisible('#checkin-form'), false);
  // Not over 18: genuine, but the banner says so in red, not VALID.
  v = await scan(page, age.codes.under[0]);
  assert.equal(v.code, 'valid');
  assert.equal(v.banner, 'NOT OVER 18');
  assert.equal(await dataAge(page), 'under-18');
  assert.match(v.reason, /holder is NOT over 18/);
  assert.equal(v.fields['over-18'], 'NO: not over 18');
  const colour = await page.evaluate(() => getComputedStyle(document.getElementById('verdict-banner')).backgroundColor);
  assert.equal(colour, 'rgb(179, 38, 30)', 'the refusal red, not the green of a plain VALID');
  // A basic code at a venue that takes only the age-only one.
  v = await scan(page, age.codes.basic[0]);
  assert.equal(v.code, 'tier_not_accepted');
  assert.equal(v.banner, 'INVALID');
  assert.match(v.reason, /accepts only “Age only”.*show “Age only”/);
  assert.deepEqual(claimFields(v), [], 'nothing of the refused code');
  assert.equal(await dataAge(page), '');

  await page.click('#lang');
  await page.click('#scan');
  v = await scan(page, age.codes.over[1]);
  assert.equal(v.banner, '有效');
  assert.equal(v.fields.tier, '仅年龄核验');
  assert.deepEqual(claimFields(v), ['over-18']);
  assert.equal(v.fields['over-18'], '是');
  v = await scan(page, age.codes.under[1]);
  assert.equal(v.banner, '未满 18 周岁');
  assert.equal(v.reason, '证件真实，但持有人未满 18 周岁。');
  assert.equal(v.fields['over-18'], '否：未满 18 周岁');
  v = await scan(page, age.codes.basic[1]);
  assert.equal(v.code, 'tier_not_accepted');
  assert.equal(v.banner, '无效');
  assert.match(v.reason, /只接受“仅年龄核验”/);
  assert.deepEqual(claimFields(v), []);
  await page.click('#lang');
  assert.deepEqual(errors, []);
});

test('a venue that needs a name refuses the age-only code in its own words', async () => {
  const needs = age.needsName;
  const d = await startDesk({ dataDir: needs.dataDir, policy: needs.policy });
  try {
    const { page, errors } = await freshPage(browser, d.url);
    let v = await scan(page, needs.codes[0]);
    assert.equal(v.code, 'tier_requirement_not_met');
    assert.equal(v.banner, 'INVALID');
    assert.match(v.reason, /needs at least “Basic check”.*“Age only” is not enough/);
    assert.deepEqual(claimFields(v), []);
    await page.click('#lang');
    await page.click('#scan');
    v = await scan(page, needs.codes[1]);
    assert.match(v.reason, /至少需要“基础核验”/);
    await page.click('#lang');
    assert.deepEqual(errors, []);
  } finally {
    d.p.kill('SIGTERM');
  }
});
