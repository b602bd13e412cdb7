// admin_page.mjs - the browser tests of the admin page (/admin/), run in order by run.mjs
// against one `gatehouse demo`: the tests after the sign-in use alice's signed-in page (env.page).
// The page's elements are found by the stable ids listed at the top of sidecar/www/app.js.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
    ALICE, BOB, SRCDIR, VIEWPORT, dependencyError, eventually, newContext, openPage, shotPath,
    signIn,
} from './harness.mjs';

// The nav links and hash routes of the page (the contract between the page and these tests),
// and what each view shows once loaded from the demo's data.
const VIEWS = [
    { name: 'Status', hash: 'status', shows: '#status-counts' },
    { name: 'Identities', hash: 'identities',
        shows: `#identities-table tr[data-testid="identity-row"]:has-text("alice@demo.example")` },
    { name: 'IdP groups', hash: 'idp-groups',
        shows: '#idp-groups-table tr[data-testid="idp-group-row"]:has-text("Payroll Analysts")' },
    { name: 'Access groups', hash: 'access-groups',
        shows: '#ag-table tr[data-testid="ag-row"][data-name="Payroll Analysts"]' },
    { name: 'Links', hash: 'links', shows: '#links-table tr[data-testid="link-row"][data-state="linked"]' },
    { name: 'Explain', hash: 'explain', shows: '#explain-submit' },
    { name: 'Policy', hash: 'policy', shows: '#policy-dry-run' },
    // the demo's own /v1/authorize calls are in the decision ring
    { name: 'Decisions', hash: 'decisions', shows: '#decisions-table tr[data-testid="decision-row"]' },
    { name: 'Settings', hash: 'settings', shows: '#settings-tenant-url' },
];

const NEW_GROUP = 'Browser Testers';
const SESSION_COOKIE = 'gh_admin_session';

// ---- state shared by the tests (filled as they run) ------------------------------------------

export const env = {
    demo: null,
    admin: null,     // alice's signed-in context
    page: null,      // its page, the one whose console must stay clean
    contextsMade: [],
    contexts() { return this.contextsMade; },
};

async function context() {
    const c = await newContext(env.demo.base);
    env.contextsMade.push(c);
    return c;
}

function needAdmin() {
    if (env.page === null)
        throw dependencyError('not run: alice is not signed in (signin_admin_shows_her_and_status failed)');
    return env.page;
}

// An admin API call from a page (its cookies; the CSRF token only when headers carry it).
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

// The admin API with the bearer admin token, from Node (expected values, checks of effects).
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

const view = (hash) => VIEWS.find((v) => v.hash === hash);

// Click the nav link; wait until the view has rendered and loaded (app.js: #view carries
// data-view=<route> and aria-busy="false").
async function goView(page, v) {
    await page.locator('#nav').getByRole('link', { name: v.name, exact: true }).click();
    await page.waitForURL((u) => u.hash === `#/${v.hash}`);
    await viewReady(page, v);
}

async function viewReady(page, v) {
    await page.locator(`#view[data-view="${v.hash}"][aria-busy="false"]`).waitFor();
    assert.equal(await page.locator('#view-heading').innerText(), v.name);
}

// The page's alert region is empty: no API error or page error was shown.
async function noAlert(page, what) {
    const alert = (await page.locator('#alert').innerText()).trim();
    assert.equal(alert, '', `${what}: the page shows an error: ${alert}`);
}

async function attr(locator, name) {
    return locator.getAttribute(name);
}

// ---- the tests --------------------------------------------------------------------------------

export const tests = [
    { name: 'csp_header', fn: async () => {
        for (const route of ['/admin/', '/admin/assets/app.js']) {
            const r = await fetch(`${env.demo.base}${route}`);
            assert.equal(r.status, 200, route);
            const csp = r.headers.get('content-security-policy') || '';
            assert.match(csp, /default-src 'self'/, `${route} CSP: ${csp}`);
            assert.match(csp, /frame-ancestors 'none'/, `${route} CSP: ${csp}`);
        }
    } },

    { name: 'signin_admin_shows_her_and_status', fn: async () => {
        const c = await context();
        const page = await openPage(c);
        await signIn(page, env.demo.base, ALICE, 'signin');
        assert.equal(new URL(page.url()).pathname, '/admin/', `after sign-in: ${page.url()}`);
        await viewReady(page, view('status'));
        await eventually(`${ALICE} in #session-user`, async () =>
            (await page.locator('#session-user').innerText()).includes(ALICE));
        await page.locator('#status-counts').waitFor();
        assert.equal(await page.locator('#signin-panel').isVisible(), false);
        // From here on every console error on this page counts (the 401 of
        // /admin/v1/session on the signed-out page before the sign-in is expected).
        page.problems.length = 0;
        env.admin = c;
        env.page = page;
    } },

    { name: 'non_admin_refused', fn: async () => {
        const c = await context();
        const page = await openPage(c);
        await signIn(page, env.demo.base, BOB);
        const text = await page.locator('body').innerText();
        assert.match(text, /Not an administrator/, text);
        assert.ok(text.includes(BOB), `the refusal names who signed in: ${text}`);
        assert.ok(text.includes('Gatehouse Admins'), `the refusal names the admin group: ${text}`);
        await page.screenshot({ path: shotPath('refused-non-admin') });
        assert.equal((await c.cookies()).some((k) => k.name === SESSION_COOKIE), false,
            'no session cookie for bob');
        await page.goto('/admin/');
        await page.locator('#signin-panel').waitFor();
        assert.equal(await page.locator('#app').isVisible(), false);
        const g = await pageFetch(page, 'GET', '/admin/v1/access-groups');
        assert.equal(g.status, 401, `bob reads access groups: ${g.text}`);
        await c.close();
    } },

    { name: 'cookie_flags', fn: async () => {
        const page = needAdmin();
        const cookies = await env.admin.cookies();
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
        needAdmin();
        // a second page of alice's context (same cookie): its refusals log console errors,
        // which must not land on the page whose console is checked
        const page = await openPage(env.admin);
        await page.goto('/admin/');
        await page.locator('#app').waitFor();
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
        // a wrong one
        r = await pageFetch(page, 'POST', '/admin/v1/access-groups', probe,
            { 'X-CSRF-Token': 'x'.repeat(token.length) });
        assert.equal(r.status, 403, r.text);
        assert.equal(r.json?.error, 'csrf', r.text);
        // the right one, but from another origin (the context's cookie jar, a foreign Origin)
        const x = await env.admin.request.post(`${env.demo.base}/admin/v1/access-groups`, {
            headers: { 'X-CSRF-Token': token, Origin: 'http://evil.example' }, data: probe });
        assert.equal(x.status(), 403, await x.text());
        assert.equal((await x.json()).error, 'csrf');
        // nothing was created
        assert.equal((await adminApi('GET', '/admin/v1/access-groups/CSRF%20Probe')).status, 404);
        // the page's own request (token, same origin) passes: the refusals were the CSRF check
        r = await pageFetch(page, 'POST', '/admin/v1/access-groups', probe, { 'X-CSRF-Token': token });
        assert.equal(r.status, 201, r.text);
        r = await pageFetch(page, 'DELETE', '/admin/v1/access-groups/CSRF%20Probe', undefined,
            { 'X-CSRF-Token': token });
        assert.equal(r.status, 204, r.text);
        await page.close();
    } },

    { name: 'keyboard_reaches_named_nav_links', fn: async () => {
        const page = needAdmin();
        await page.goto('/admin/#/status');
        await page.reload(); // focus starts at the top of a fresh document
        await viewReady(page, view('status'));
        const reached = new Map();
        for (let i = 0; i < 60 && reached.size < VIEWS.length; i++) {
            await page.keyboard.press('Tab');
            const href = await page.evaluate(() => document.activeElement?.getAttribute('href'));
            const v = VIEWS.find((w) => href === `#/${w.hash}`);
            if (v !== undefined && !reached.has(v.name))
                reached.set(v.name, await page.locator(':focus').ariaSnapshot());
        }
        for (const v of VIEWS) {
            assert.ok(reached.has(v.name), `Tab never reached the ${v.name} link`);
            assert.match(reached.get(v.name), new RegExp(`^- link "${v.name}"`),
                `the ${v.name} link's accessible name: ${reached.get(v.name)}`);
        }
        // Enter on a focused nav link opens its view
        await page.locator('#nav a[href="#/links"]').focus();
        await page.keyboard.press('Enter');
        await viewReady(page, view('links'));
    } },

    { name: 'access_group_linked_by_scim_group', fn: async () => {
        const page = needAdmin();
        await goView(page, view('access-groups'));
        await page.locator('#ag-name').fill(NEW_GROUP);
        await page.locator('#ag-grant-dataset-0').fill('payroll');
        await page.locator('#ag-grant-protect-0').check();
        await page.locator('#ag-create').click();
        await eventually('the create confirmed', async () =>
            (await page.locator('#ag-result').innerText()).includes(NEW_GROUP));
        const row = page.locator(`#ag-table tr[data-name="${NEW_GROUP}"]`);
        await row.waitFor();
        assert.equal(await attr(row, 'data-source'), 'admin');
        assert.equal(await attr(row, 'data-link-state'), 'unlinked_access_group');
        const created = await adminApi('GET',
            `/admin/v1/access-groups/${encodeURIComponent(NEW_GROUP)}`);
        assert.equal(created.status, 200, 'the page created it');
        assert.deepEqual(created.json.grants, [{ dataset: 'payroll', actions: ['protect'] }]);

        // Entra provisions a group of that name
        const r = await fetch(`${env.demo.base}/scim/v2/Groups`, {
            method: 'POST',
            headers: { Authorization: `Bearer ${env.demo.scimToken}`,
                'Content-Type': 'application/scim+json' },
            body: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
                displayName: NEW_GROUP }),
        });
        assert.equal(r.status, 201, await r.text());

        await goView(page, view('links'));
        const link = page.locator('#links-table tr[data-testid="link-row"]', { hasText: NEW_GROUP });
        await link.waitFor();
        assert.equal(await attr(link, 'data-state'), 'linked', await link.innerText());
        assert.match(await link.innerText(), new RegExp(`${NEW_GROUP}[\\s\\S]*${NEW_GROUP}`),
            'both the access group and the IdP group are named');
        await goView(page, view('access-groups'));
        assert.equal(await attr(row, 'data-link-state'), 'linked');
        assert.match(await row.innerText(), /linked/);
        await noAlert(page, 'access groups');
    } },

    { name: 'explain_denial', fn: async () => {
        const page = needAdmin();
        const want = (await adminApi('GET',
            '/admin/v1/explain?user=bob%40demo.example&dataset=payroll&action=unprotect')).json;
        assert.equal(want.decision.allowed, false, 'bob may not unprotect payroll');
        assert.ok(want.paths.length > 0, 'bob has a path (HR Writers)');
        await goView(page, view('explain'));
        await page.locator('#explain-user').fill(BOB);
        await page.locator('#explain-dataset').fill('payroll');
        await page.locator('#explain-action').selectOption('unprotect');
        await page.locator('#explain-submit').click();
        const decision = page.locator('#explain-decision');
        await decision.waitFor();
        assert.equal(await attr(decision, 'data-allowed'), 'false');
        assert.equal(await decision.innerText(), 'Denied');
        assert.equal(await page.locator('#explain-reason').innerText(), want.decision.reason);
        const paths = page.locator('#explain-paths li[data-testid="explain-path"]');
        assert.equal(await paths.count(), want.paths.length);
        for (const [i, p] of want.paths.entries()) {
            const li = paths.nth(i);
            assert.equal(await attr(li, 'data-result'), p.result);
            const t = await li.innerText();
            assert.ok(t.includes(BOB) && t.includes(p.idp_group.displayName), `path ${i}: ${t}`);
            if (p.access_group !== null)
                assert.ok(t.includes(p.access_group.name), `path ${i}: ${t}`);
        }
        await noAlert(page, 'explain');
    } },

    { name: 'policy_dry_run', fn: async () => {
        const page = needAdmin();
        // the running file with Payroll Analysts dropped and HR Writers granted unprotect on
        // payroll: alice loses payroll, bob gains it
        const cand = JSON.parse(fs.readFileSync(
            path.join(SRCDIR, 'policies', 'examples', 'policy.json'), 'utf8'));
        cand.access_groups = cand.access_groups.filter((g) => g.name !== 'Payroll Analysts');
        cand.access_groups.find((g) => g.name === 'HR Writers').grants
            .push({ dataset: 'payroll', actions: ['unprotect'] });
        const want = (await adminApi('POST', '/admin/v1/policy/dry-run', cand)).json;
        const who = (upn) => want.users.find((u) => u.userName === upn);
        assert.ok(who(ALICE)?.lost.length > 0 && who(BOB)?.gained.length > 0,
            JSON.stringify(want.users));

        await goView(page, view('policy'));
        await page.locator('#policy-text').fill(JSON.stringify(cand, null, 2));
        await page.locator('#policy-dry-run').click();
        await page.locator('#policy-summary').waitFor();
        const rows = page.locator('#policy-users-table tr[data-testid="policy-user-row"]');
        assert.equal(await rows.count(), want.users.length);
        const cell = (upn, cls) => page.locator(
            `#policy-users-table tr[data-user="${upn}"] td.${cls}`).innerText();
        const listed = (xs) => xs.map((x) => `${x.dataset} ${x.action}`);
        for (const x of listed(who(ALICE).lost))
            assert.ok((await cell(ALICE, 'loss')).includes(x), `alice loses ${x}`);
        for (const x of listed(who(BOB).gained))
            assert.ok((await cell(BOB, 'gain')).includes(x), `bob gains ${x}`);
        assert.match(await cell(BOB, 'gain'), /payroll unprotect/);
        assert.match(await page.locator('#policy-summary').innerText(),
            new RegExp(`${want.summary.gained} dataset actions gained, ${want.summary.lost} lost`));
        // a dry run applies nothing
        assert.equal((await adminApi('GET', '/admin/v1/access-groups/Payroll%20Analysts')).status,
            200);
        await noAlert(page, 'dry run');
        await page.screenshot({ path: shotPath('policy-dry-run'), fullPage: true });
    } },

    { name: 'views_show_data_fit_1280x800_screenshots', fn: async () => {
        const page = needAdmin();
        for (const v of VIEWS) {
            await goView(page, v);
            await page.locator(v.shows).first().waitFor();
            await noAlert(page, v.name);
            const w = await page.evaluate(() => document.documentElement.scrollWidth);
            assert.ok(w <= VIEWPORT.width, `${v.name}: scrollWidth ${w} > ${VIEWPORT.width}`);
            await page.screenshot({ path: shotPath(`view-${v.hash}`) });
        }
        const tenant = await page.locator('#settings-tenant-url').inputValue();
        assert.ok(tenant.startsWith(`${env.demo.base}/scim/v2`) && tenant.endsWith('?aadOptscim062020'),
            `Tenant URL: ${tenant}`);
    } },

    { name: 'no_console_errors', fn: async () => {
        const page = needAdmin();
        assert.deepEqual(page.problems, []);
    } },
];

