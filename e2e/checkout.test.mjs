// The checkout wizard against the real server with the demo marketplace and
// its running simulated agents: a full purchase ending with the instance
// "running" on the Instances page (signing in mid-way), the inline card and
// SSH key checks, and a declined card.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fillCard, serverAndBrowser, newPage, saveScreenshot, startDemoMarket } from './harness.mjs';

const SSH_KEY =
  'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl ada@laptop';
const PASSWORD = 'correct horse battery';

const ctx = serverAndBrowser(startDemoMarket);

/** A buyer account made through the API. */
async function newBuyer(email) {
  const res = await fetch(`${ctx.server.baseURL}/api/v1/accounts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: PASSWORD, display_name: 'Test Buyer', roles: ['buyer'] }),
  });
  assert.equal(res.status, 201, await res.text());
}

async function signIn(page, email) {
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** Opens the checkout of a demo seller's offer from the marketplace. */
async function startCheckout(page, seller) {
  await page.goto(`${ctx.server.baseURL}/marketplace`);
  await page.getByRole('link', { name: seller }).click();
  await page.getByRole('heading', { level: 1, name: seller }).waitFor();
  await page.getByRole('link', { name: 'Rent' }).click();
  await page.getByRole('heading', { name: `Rent from ${seller}` }).waitFor();
}

async function currentStep(page) {
  return page.getByRole('list', { name: 'Checkout steps' }).locator('[aria-current="step"]').innerText();
}

/** Image, service level and size: Debian 12, bronze, one s1.small. */
async function chooseBasics(page) {
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByText('Choose an image to continue.').waitFor();
  await page.getByRole('radio', { name: /Debian 12/ }).check();
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByRole('heading', { name: 'Service level' }).waitFor();
  await page.getByRole('radio', { name: /Bronze/ }).check();
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByRole('heading', { name: 'Size & placement' }).waitFor();
  // The cheapest size that fits the image is chosen already.
  assert.ok(await page.getByRole('radio', { name: /s1\.small/ }).isChecked(), 'a size is preselected');
  await page.getByRole('radio', { name: /s1\.small/ }).check();
  await page.getByLabel('Number of instances').fill('2');
  await page.getByText(/2 × .* \/ hour · about/).waitFor();
  await page.getByLabel('Number of instances').fill('1');
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByRole('heading', { name: 'Payment' }).waitFor();
}

/** Signed in already, through image, service level and size to payment. */
async function atPayment(page, email, seller) {
  await page.goto(`${ctx.server.baseURL}/sign-in`);
  await signIn(page, email);
  await page.waitForURL(/\/marketplace/);
  await startCheckout(page, seller);
  await chooseBasics(page);
}

test('a full purchase, signing in mid-way, ends with the instance running on the Instances page', async () => {
  const email = 'full-purchase@example.com';
  await newBuyer(email);
  const page = await newPage(ctx.browser);
  try {
    await startCheckout(page, 'Prairie Compute');
    assert.equal(await currentStep(page), '1. Image');
    await chooseBasics(page);

    // Not signed in: signing in comes back to the payment step, choices kept.
    await page.getByRole('link', { name: 'Sign in to continue' }).click();
    await signIn(page, email);
    await page.getByRole('heading', { name: 'Payment' }).waitFor();
    assert.equal(await currentStep(page), '4. Payment');
    await page.getByRole('button', { name: 'Back' }).click();
    await page.getByRole('heading', { name: 'Size & placement' }).waitFor();
    assert.ok(await page.getByRole('radio', { name: /s1\.small/ }).isChecked(), 'the size is kept');
    await page.getByRole('button', { name: 'Continue' }).click();

    // The card goes into Stripe's element; our API gets only Stripe's id.
    const toUs = [];
    page.on('request', (request) => {
      if (request.url().startsWith(ctx.server.baseURL)) toUs.push(request.postData() ?? '');
    });
    await page.getByText('Your card goes straight to our payment provider', { exact: false }).waitFor();
    await fillCard(page, '4242424242424242');
    await page.getByLabel('SSH public key').fill(SSH_KEY);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('heading', { name: 'Review' }).waitFor();
    assert.ok(toUs.some((body) => body.includes('seti_')), 'the SetupIntent id was sent');
    for (const body of toUs) assert.ok(!body.includes('4242424242424242') && !/"cvc"|"number"/.test(body), body);

    await page.getByRole('heading', { name: 'Review' }).waitFor();
    await page.getByText('Estimated month').waitFor();
    // The fee where it means something: its share, and per month.
    await page.getByText(/15 % platform fee included, about .* a month/).waitFor();
    assert.ok(!(await page.locator('main').innerText()).includes('€0.00'), 'no misleading €0.00');
    await saveScreenshot(page, 'checkout-review');
    // A double click places one order (one Idempotency-Key per attempt).
    await page.getByRole('button', { name: 'Place order' }).dblclick();
    await page.waitForURL(/\/orders\//);
    await page.getByText('All 1 instances are running.').waitFor({ timeout: 30_000 });

    await page.getByRole('link', { name: 'Go to your instances' }).click();
    const cards = page.getByRole('article');
    await cards.first().waitFor();
    assert.equal(await cards.count(), 1, 'a double click made one instance');
    await cards.first().getByText('running', { exact: true }).waitFor();
    await cards.first().getByText(/^ssh debian@/).waitFor();
    await cards.first().getByRole('button', { name: /Copy the SSH command/ }).waitFor();

    // Stop and start follow what the agent reports; terminate asks first.
    const card = cards.first();
    await card.getByRole('button', { name: 'Stop' }).click();
    await card.getByText('stopped', { exact: true }).waitFor({ timeout: 20_000 });
    await card.getByRole('button', { name: 'Start' }).click();
    await card.getByText('running', { exact: true }).waitFor({ timeout: 20_000 });
    await card.getByRole('button', { name: 'Terminate' }).click();
    const confirm = card.getByRole('alertdialog', { name: 'Confirm termination' });
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    await confirm.waitFor({ state: 'detached' });
    await card.getByText('running', { exact: true }).waitFor();
    await card.getByRole('button', { name: 'Terminate' }).click();
    await confirm.getByRole('button', { name: 'Terminate instance' }).click();
    await card.getByText('terminated', { exact: true }).waitFor({ timeout: 20_000 });

    // Its page: this month's measured availability and the event log.
    await card.getByRole('heading').getByRole('link').click();
    await page.getByRole('heading', { name: /^Service level, \d{4}-\d\d$/ }).waitFor();
    await page.getByText('Measured availability').waitFor();
    await page.getByText('None: the commitment is met').waitFor();
    const events = page.getByRole('region', { name: 'Event log' }).getByRole('listitem');
    await events.nth(4).waitFor();
    assert.ok((await events.count()) >= 5, 'created, provisioning, running, stopping … terminated');
    assert.deepEqual(page.pageErrors, []);
  } finally {
    await saveScreenshot(page, 'checkout-purchase');
    await page.context().close();
  }
});

test('the payment step checks the name and SSH key inline before sending anything, and shows Stripe\'s refusal of an incomplete card', async () => {
  const email = 'inline-checks@example.com';
  await newBuyer(email);
  const page = await newPage(ctx.browser);
  try {
    await atPayment(page, email, 'Atlantic Racks');
    const sent = [];
    page.on('request', (request) => {
      if (request.url().includes('/api/v1/payment-methods') && request.method() === 'POST') sent.push(request.url());
    });
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByText('Enter the name on the card.').waitFor();
    await page.getByText(/Paste your SSH public key/).waitFor();
    assert.equal(await page.getByLabel('SSH public key').getAttribute('aria-invalid'), 'true');
    assert.equal(sent.length, 0, 'nothing was sent');

    // An incomplete number: Stripe refuses it, the buyer stays here.
    await fillCard(page, '4242 4242');
    await page.getByLabel('SSH public key').fill(SSH_KEY);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('group', { name: 'Card' }).waitFor();
    await page.locator('#card-element-error').waitFor();
    assert.equal(await currentStep(page), '4. Payment');
    assert.ok(sent.every((url) => url.endsWith('/setup-intents')), 'no card was saved');
    assert.deepEqual(page.pageErrors, []);
  } finally {
    await saveScreenshot(page, 'checkout-inline-errors');
    await page.context().close();
  }
});

test('a declined card keeps the buyer on the payment step with everything else intact, and is not saved', async () => {
  const email = 'declined@example.com';
  await newBuyer(email);
  const page = await newPage(ctx.browser);
  try {
    await atPayment(page, email, 'Nordlicht Hosting');
    await fillCard(page, '4000 0000 0000 0002');
    await page.getByLabel('SSH public key').fill(SSH_KEY);
    await page.getByRole('button', { name: 'Continue' }).click();

    await page.getByText(/Your card was declined/).first().waitFor();
    assert.equal(await currentStep(page), '4. Payment');
    assert.equal(await page.getByLabel('SSH public key').inputValue(), SSH_KEY, 'the key is kept');
    assert.equal(await page.getByLabel('Name on card').inputValue(), 'Ada Lovelace', 'the name is kept');
    await page.getByRole('button', { name: 'Back' }).click();
    assert.ok(await page.getByRole('radio', { name: /s1\.small/ }).isChecked(), 'the size is kept');
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('heading', { name: 'Payment' }).waitFor();
    assert.equal(await page.getByRole('group', { name: 'Saved cards' }).count(), 0, 'the declined card was not saved');

    // Another card goes through.
    await fillCard(page, '4242 4242 4242 4242');
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('heading', { name: 'Review' }).waitFor();
    // No card data anywhere in storage.
    const stored = await page.evaluate(() => JSON.stringify({ ...localStorage, ...sessionStorage }));
    for (const card of ['4000 0000 0000 0002', '4000000000000002', '4242424242424242', '"cvc"']) {
      assert.ok(!stored.includes(card), `${card} in ${stored}`);
    }
    assert.deepEqual(page.pageErrors, []);
  } finally {
    await saveScreenshot(page, 'checkout-declined');
    await page.context().close();
  }
});

test('a spread checkout places each instance in its own zone, across sellers, and says when a spread cannot be met', async () => {
  const email = 'spread@example.com';
  await newBuyer(email);
  const page = await newPage(ctx.browser);
  try {
    await page.goto(`${ctx.server.baseURL}/sign-in`);
    await signIn(page, email);
    await page.waitForURL(/\/marketplace/);
    await startCheckout(page, 'Prairie Compute');
    await page.getByRole('radio', { name: /Debian 12/ }).check();
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('radio', { name: /Bronze/ }).check();
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('heading', { name: 'Size & placement' }).waitFor();
    await page.getByRole('radio', { name: /s1\.small/ }).check();
    const placement = page.getByRole('group', { name: 'Placement' });
    assert.ok(await placement.getByRole('radio', { name: 'Anywhere this offer has room' }).isChecked());
    await placement.getByRole('radio', { name: 'Each instance in its own zone' }).check();
    await page.getByLabel(/Auto-recover/).check();
    // The demo has three zones: four instances cannot each have their own.
    await page.getByLabel('Number of instances').fill('4');
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('heading', { name: 'Payment' }).waitFor();
    await fillCard(page, '4242 4242 4242 4242');
    await page.getByLabel('SSH public key').fill(SSH_KEY);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('heading', { name: 'Review' }).waitFor();
    await page.getByText(/Only 3 zones have a host/).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Place order' }).count(), 0, 'nothing to order');

    // Three: one per zone, the other two on other sellers' offers of
    // bronze or better, each at its own price.
    await page.getByRole('button', { name: 'Back' }).click();
    await page.getByRole('button', { name: 'Back' }).click();
    await page.getByRole('heading', { name: 'Size & placement' }).waitFor();
    assert.ok(await placement.getByRole('radio', { name: 'Each instance in its own zone' }).isChecked(), 'kept');
    await page.getByLabel('Number of instances').fill('3');
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('heading', { name: 'Payment' }).waitFor();
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('heading', { name: 'Review' }).waitFor();
    await page.getByText('Spread over 3 distinct zones: eu-central-1a, eu-west-1a, us-central-1a · auto-recovery on').waitFor();
    await page.getByText(/1 × in us-central-1a by Prairie Compute at/).waitFor();
    await page.getByText(/1 × in eu-west-1a by Atlantic Racks at/).waitFor();
    await page.getByText(/1 × in eu-central-1a by Nordlicht Hosting at/).waitFor();
    await page.getByRole('button', { name: 'Place order' }).click();
    await page.waitForURL(/\/orders\//);
    await page.getByText('All 3 instances are running.').waitFor({ timeout: 30_000 });
    for (const zone of ['eu-central-1a', 'eu-west-1a', 'us-central-1a']) {
      await page.getByText(`in ${zone}`, { exact: true }).waitFor();
    }
    assert.deepEqual(page.pageErrors, []);
  } finally {
    await saveScreenshot(page, 'checkout-spread');
    await page.context().close();
  }
});
