// run.mjs - the admin page (/admin/) end to end, in Debian's Chromium (headless) against a real
// `gatehouse demo` and its development issuer: sign-in (alice, an admin) and a refusal (bob, not
// one), an access group created in the page and linked by a SCIM group create, explain of a
// denial, a policy dry run, CSRF and cookie flags, the CSP header, keyboard reach and names of
// the nav links, no horizontal scroll at 1280x800 and no console errors on any view, and a
// screenshot of each view in build/browser-artifacts/.
//
//   node run.mjs            (from `make browser-test`; GH_BINARY, GH_CHROMIUM override paths)
//
// Prints one line per test and "browser: N passed, F failed"; exits 1 when a test failed or the
// harness could not start.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
    ALICE, ARTIFACTS, BOB, SRCDIR, VIEWPORT, browserLaunch, demoStart, eventually, newContext,
    runTests, shotPath, signIn, stopAll,
} from './harness.mjs';

const WATCHDOG_MS = 100000;

// The nav links and hash routes of the page (the contract between the page and these tests).
const VIEWS = [
    { name: 'Status', hash: 'status' },
    { name: 'Identities', hash: 'identities' },
    { name: 'IdP groups', hash: 'idp-groups' },
    { name: 'Access groups', hash: 'access-groups' },
    { name: 'Links', hash: 'links' },
    { name: 'Explain', hash: 'explain' },
    { name: 'Policy', hash: 'policy' },
    { name: 'Decisions', hash: 'decisions' },
    { name: 'Settings', hash: 'settings' },
];

const NEW_GROUP = 'Browser Testers';
const SESSION_COOKIE = 'gh_admin_session';

// ---- state shared by the tests (filled as they run) ------------------------------------------

const env = {
    demo: null,
    admin: null,     // alice's signed-in context
    page: null,      // its page
    contextsMade: [],
    contexts() { return this.contextsMade; },
};

async function context() {
    const c = await newContext(env.demo.base);
    env.contextsMade.push(c);
    return c;
}

function needAdmin() {
    assert.ok(env.page !== null, 'alice is not signed in (an earlier test failed)');
    return env.page;
}

// An admin API call from the page itself (the session cookie; the CSRF token when given).
async function pageFetch(page, method, route, body, headers = {}) {
    return page.evaluate(async ({ method, route, body, headers }) => {
        const init = { method, headers: { ...headers }, credentials: 'same-origin' };
        if (body !== undefined) {
            init.headers['Content-Type'] = 'application/json';
            init.body = JSON.stringify(body);
        }
        const r = await fetch(route, init);
        const text = await r.text();
        let json = null;
        try { json = JSON.parse(text); } catch { /* not JSON */ }
        return { status: r.status, json, text };
    }, { method, route, body, headers });
}

// The admin API with the bearer admin token, from Node (for expected values and set-up).
async function adminApi(method, route, body) {
    const r = await fetch(env.demo.base + route, {
        method,
        headers: { Authorization: `Bearer ${env.demo.adminToken}`,
            ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
        body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await r.text();
    return { status: r.status, json: text ? JSON.parse(text) : null };
}

async function goView(page, v) {
    await page.getByRole('navigation').getByRole('link', { name: v.name, exact: true }).click();
    await page.waitForURL((u) => u.hash === `#/${v.hash}`);
    await viewReady(page, v);
}

// The view is shown and done loading.
async function viewReady(page, v) {
    await page.locator(`#view-${v.hash}`).waitFor({ state: 'visible' });
    await page.locator('[aria-busy="true"]').first().waitFor({ state: 'detached' })
        .catch(() => {});
}

async function mainText(page) {
    return page.locator('main').innerText();
}

// ---- the tests --------------------------------------------------------------------------------

const tests = [
    { name: 'csp_header', fn: async () => {
        const r = await fetch(`${env.demo.base}/admin/`);
        assert.equal(r.status, 200);
        const csp = r.headers.get('content-security-policy') || '';
        assert.match(csp, /default-src 'self'/, `CSP: ${csp}`);
        assert.match(csp, /frame-ancestors 'none'/, `CSP: ${csp}`);
    } },

    { name: 'signin_admin_shows_status', fn: async () => {
        const c = await context();
        const page = await c.newPage();
        await signIn(page, ALICE);
        await page.waitForURL((u) => u.pathname === '/admin/' &&
            (u.hash === '' || u.hash === '#/status'));
        await viewReady(page, VIEWS[0]);
        await eventually(`${ALICE} shown`, async () =>
            (await page.locator('body').innerText()).includes(ALICE));
        // From here on every console error counts (the signed-out page's 401 on
        // /admin/v1/session before the sign-in is expected and not one).
        c.problems.length = 0;
        env.admin = c;
        env.page = page;
    } },

    { name: 'non_admin_refused', fn: async () => {
        const c = await context();
        const page = await c.newPage();
        await signIn(page, BOB);
        const text = await eventually('a refusal', async () => {
            const t = await page.locator('body').innerText();
            return /not an admin|not a member|not allowed|refused|denied/i.test(t) ? t : null;
        });
        assert.match(text, /Gatehouse Admins/, `the refusal names the admin group: ${text}`);
        await page.screenshot({ path: shotPath('refused-non-admin') });
        const s = await pageFetch(page, 'GET', '/admin/v1/session');
        assert.equal(s.status, 401, `bob's session: ${s.text}`);
        const g = await pageFetch(page, 'GET', '/admin/v1/access-groups');
        assert.equal(g.status, 401, `bob reads access groups: ${g.text}`);
        await c.close();
    } },

    { name: 'cookie_flags', fn: async () => {
        const page = needAdmin();
        const cookies = await env.admin.cookies(env.demo.base);
        const s = cookies.find((k) => k.name === SESSION_COOKIE);
        assert.ok(s, `no ${SESSION_COOKIE} among ${cookies.map((k) => k.name).join(', ')}`);
        assert.equal(s.httpOnly, true, 'HttpOnly');
        assert.equal(s.sameSite, 'Lax', 'SameSite');
        assert.equal(s.path, '/admin', 'Path');
        assert.equal(s.secure, false, 'not Secure on plain HTTP');
        const visible = await page.evaluate(() => document.cookie);
        assert.ok(!visible.includes(SESSION_COOKIE), `document.cookie shows it: ${visible}`);
    } },

    { name: 'csrf', fn: async () => {
        const page = needAdmin();
        const probe = { name: 'CSRF Probe', grants: [{ dataset: 'payroll', actions: ['protect'] }] };
        const s = await pageFetch(page, 'GET', '/admin/v1/session');
        assert.equal(s.status, 200, s.text);
        assert.equal(s.json.via, 'session');
        assert.equal(s.json.user.userName, ALICE);
        const token = s.json.csrf_token;
        assert.ok(typeof token === 'string' && token.length >= 16, 'a csrf_token');

        // no X-CSRF-Token, from the page (same origin, the session cookie)
        let r = await pageFetch(page, 'POST', '/admin/v1/access-groups', probe);
        assert.equal(r.status, 403, r.text);
        assert.equal(r.json?.error, 'csrf', r.text);
        // a wrong token
        r = await pageFetch(page, 'POST', '/admin/v1/access-groups', probe,
            { 'X-CSRF-Token': 'x'.repeat(token.length) });
        assert.equal(r.status, 403, r.text);
        // the right token from another origin (the context's cookie jar, a forged Origin)
        const x = await env.admin.request.post(`${env.demo.base}/admin/v1/access-groups`, {
            headers: { 'X-CSRF-Token': token, Origin: 'http://evil.example' }, data: probe });
        assert.equal(x.status(), 403, await x.text());
        assert.equal((await x.json()).error, 'csrf');
        // nothing was created
        assert.equal((await adminApi('GET', '/admin/v1/access-groups/CSRF%20Probe')).status, 404);
        // and the page's own request (token, same origin) works: the refusals were the CSRF check
        r = await pageFetch(page, 'POST', '/admin/v1/access-groups', probe, { 'X-CSRF-Token': token });
        assert.equal(r.status, 201, r.text);
        r = await pageFetch(page, 'DELETE', '/admin/v1/access-groups/CSRF%20Probe', undefined,
            { 'X-CSRF-Token': token });
        assert.equal(r.status, 204, r.text);
    } },

    { name: 'keyboard_reaches_named_nav_links', fn: async () => {
        const page = needAdmin();
        await page.goto('/admin/#/status');
        await viewReady(page, VIEWS[0]);
        const reached = new Map();
        for (let i = 0; i < 60 && reached.size < VIEWS.length; i++) {
            await page.keyboard.press('Tab');
            const href = await page.evaluate(() => document.activeElement?.getAttribute('href'));
            const v = VIEWS.find((w) => href && href.endsWith(`#/${w.hash}`));
            if (v !== undefined && !reached.has(v.name))
                reached.set(v.name, await page.locator(':focus').ariaSnapshot());
        }
        for (const v of VIEWS) {
            assert.ok(reached.has(v.name), `Tab never reached the ${v.name} link`);
            assert.match(reached.get(v.name), new RegExp(`^- link "${v.name}"`),
                `the ${v.name} link's accessible name: ${reached.get(v.name)}`);
        }
    } },

    { name: 'access_group_linked_by_scim_group', fn: async () => {
        const page = needAdmin();
        await goView(page, VIEWS.find((v) => v.hash === 'access-groups'));
        const form = page.locator('#access-group-form');
        await form.getByLabel('Name').fill(NEW_GROUP);
        await form.getByLabel('Dataset').first().fill('payroll');
        await form.getByLabel('protect', { exact: true }).first().check();
        await form.getByRole('button', { name: /create/i }).click();
        await eventually(`${NEW_GROUP} listed`, async () =>
            (await mainText(page)).includes(NEW_GROUP));
        const created = await adminApi('GET', `/admin/v1/access-groups/${encodeURIComponent(NEW_GROUP)}`);
        assert.equal(created.status, 200, 'the page created it');
        assert.equal(created.json.link_state, 'unlinked_access_group');

        // Entra provisions a group with that name
        const r = await fetch(`${env.demo.base}/scim/v2/Groups`, {
            method: 'POST',
            headers: { Authorization: `Bearer ${env.demo.scimToken}`,
                'Content-Type': 'application/scim+json' },
            body: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
                displayName: NEW_GROUP }),
        });
        assert.equal(r.status, 201, await r.text());

        const links = VIEWS.find((v) => v.hash === 'links');
        await goView(page, links);
        const row = page.locator('#links-table tr', { hasText: NEW_GROUP });
        await eventually(`${NEW_GROUP} linked in Links`, async () => {
            if (!/\blinked\b/i.test(await row.first().innerText())) {
                await page.reload();
                await viewReady(page, links);
                return false;
            }
            return true;
        });
        assert.doesNotMatch(await row.first().innerText(), /unlinked/i);
        await goView(page, VIEWS.find((v) => v.hash === 'access-groups'));
        const ag = page.locator('#access-groups-table tr', { hasText: NEW_GROUP });
        assert.match(await ag.first().innerText(), /\blinked\b/i);
    } },

    { name: 'explain_denial', fn: async () => {
        const page = needAdmin();
        const q = 'user=bob%40demo.example&dataset=payroll&action=unprotect';
        const want = (await adminApi('GET', `/admin/v1/explain?${q}`)).json;
        assert.equal(want.decision.allowed, false, 'bob may not unprotect payroll');
        await goView(page, VIEWS.find((v) => v.hash === 'explain'));
        const form = page.locator('#explain-form');
        await form.getByLabel('User').fill(BOB);
        await form.getByLabel('Dataset').fill('payroll');
        await form.getByLabel('Action').selectOption('unprotect');
        await form.getByRole('button', { name: /explain/i }).click();
        const out = page.locator('#explain-result');
        const text = await eventually('the explanation', async () => {
            const t = await out.innerText();
            return t.includes(want.decision.reason) ? t : null;
        });
        assert.match(text, /denied/i);
        assert.ok(want.paths.length > 0, 'bob has a path (HR Writers)');
        for (const p of want.paths) {
            assert.ok(text.includes(p.idp_group.displayName), `path via ${p.idp_group.displayName}`);
            assert.ok(text.includes(p.result), `path result "${p.result}"`);
        }
    } },

    { name: 'policy_dry_run', fn: async () => {
        const page = needAdmin();
        // the running file, with Payroll Analysts dropped and HR Writers granted unprotect on
        // payroll: alice loses payroll, bob gains it
        const cand = JSON.parse(fs.readFileSync(
            path.join(SRCDIR, 'policies', 'examples', 'policy.json'), 'utf8'));
        cand.access_groups = cand.access_groups.filter((g) => g.name !== 'Payroll Analysts');
        cand.access_groups.find((g) => g.name === 'HR Writers').grants
            .push({ dataset: 'payroll', actions: ['unprotect'] });
        const want = (await adminApi('POST', '/admin/v1/policy/dry-run', cand)).json;
        const alice = want.users.find((u) => u.userName === ALICE);
        const bob = want.users.find((u) => u.userName === BOB);
        assert.ok(alice?.lost.length > 0 && bob?.gained.length > 0, JSON.stringify(want.users));

        await goView(page, VIEWS.find((v) => v.hash === 'policy'));
        const form = page.locator('#policy-dry-run-form');
        await form.getByRole('textbox').fill(JSON.stringify(cand, null, 2));
        await form.getByRole('button', { name: /dry run/i }).click();
        const out = page.locator('#policy-dry-run-result');
        await eventually('the dry run', async () => (await out.innerText()).includes(BOB));
        const aliceRow = out.locator('tr, li', { hasText: ALICE }).first();
        const bobRow = out.locator('tr, li', { hasText: BOB }).first();
        assert.match(await aliceRow.innerText(), /payroll/);
        assert.match(await aliceRow.innerText(), /lo(st|ses)/i);
        assert.match(await bobRow.innerText(), /payroll/);
        assert.match(await bobRow.innerText(), /gain/i);
        // a dry run applies nothing
        assert.equal((await adminApi('GET', '/admin/v1/access-groups/Payroll%20Analysts')).status,
            200);
    } },

    { name: 'views_fit_1280x800_with_screenshots', fn: async () => {
        const page = needAdmin();
        for (const v of VIEWS) {
            await goView(page, v);
            const w = await page.evaluate(() => document.documentElement.scrollWidth);
            assert.ok(w <= VIEWPORT.width, `${v.name}: scrollWidth ${w} > ${VIEWPORT.width}`);
            await page.screenshot({ path: shotPath(`view-${v.hash}`) });
        }
    } },

    { name: 'no_console_errors', fn: async () => {
        needAdmin();
        assert.deepEqual(env.admin.problems, []);
    } },
];

// ---- main ---------------------------------------------------------------------------------------

async function main() {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    for (const f of fs.readdirSync(ARTIFACTS))
        fs.rmSync(path.join(ARTIFACTS, f), { force: true });
    const watchdog = setTimeout(async () => {
        console.log(`browser: watchdog: still running after ${WATCHDOG_MS} ms; stopping`);
        await stopAll();
        console.log('browser: 0 passed, 1 failed');
        process.exit(1);
    }, WATCHDOG_MS);
    for (const sig of ['SIGINT', 'SIGTERM']) {
        process.on(sig, async () => {
            await stopAll();
            process.exit(1);
        });
    }
    let res;
    try {
        env.demo = await demoStart();
        await browserLaunch();
        res = await runTests(tests, env);
    } catch (e) {
        console.log(`browser: harness: ${e.stack || e}`);
        res = { passed: 0, failed: 1 };
    } finally {
        await stopAll();
        clearTimeout(watchdog);
    }
    console.log(`browser: screenshots and the demo's log in ${ARTIFACTS}`);
    console.log(`browser: ${res.passed} passed, ${res.failed} failed`);
    process.exitCode = res.failed === 0 ? 0 : 1;
}

await main();
