// harness.mjs - what the browser tests stand on: `gatehouse demo` on free loopback ports in a
// temp directory, Debian's Chromium (headless) driven by npm's playwright-core, sign-in through
// the development issuer's page, screenshots into build/browser-artifacts/, and a small
// sequential runner with bounded waits. Everything started here is stopped by stopAll(), which
// the runner calls on every way out (end, failure, signal, watchdog).

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const SRCDIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BINARY = process.env.GH_BINARY || path.join(SRCDIR, 'build', 'gatehouse');
export const ARTIFACTS = process.env.GH_BROWSER_ARTIFACTS ||
    path.join(SRCDIR, 'build', 'browser-artifacts');
export const CHROMIUM = process.env.GH_CHROMIUM || '/usr/bin/chromium';
export const VIEWPORT = { width: 1280, height: 800 };

// sidecar/demo.h's GH_DEMO_READY_LINE: printed once the demo has provisioned and checked
// everything.
const DEMO_READY_LINE = 'gatehouse demo is ready; Ctrl-C stops it.';
const DEMO_READY_MS = 20000;
const STOP_MS = 5000;

// The demo's users (sidecar/demo.c): alice is in "Gatehouse Admins" (GATEHOUSE_ADMIN_GROUP),
// bob is not.
export const ALICE = 'alice@demo.example';
export const BOB = 'bob@demo.example';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- the demo -----------------------------------------------------------------------------

let demoProc = null;
let tmpDir = null;

// Start `gatehouse demo` on free loopback ports with a fresh state directory; resolve once its
// ready line is printed (bounded). Returns {base, issuer, dir, scimToken, adminToken, output()}.
export async function demoStart() {
    tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-browser-'));
    const dir = path.join(tmpDir, 'state');
    const policy = path.join(SRCDIR, 'policies', 'examples', 'policy.json');
    const log = fs.createWriteStream(path.join(ARTIFACTS, 'demo.log'));
    let out = '';
    let err = '';

    demoProc = spawn(BINARY, ['demo', '--dir', dir, '--listen', '127.0.0.1:0',
        '--issuer-listen', '127.0.0.1:0', '--policy', policy], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, GATEHOUSE_LOG_LEVEL: process.env.GATEHOUSE_LOG_LEVEL || 'info' },
    });
    demoProc.stdout.on('data', (b) => { out += b; log.write(b); });
    demoProc.stderr.on('data', (b) => { err += b; log.write(b); });
    const exited = new Promise((resolve) => demoProc.once('exit', (code, sig) =>
        resolve(`exited (${code ?? sig})`)));
    const ready = (async () => {
        for (let waited = 0; waited < DEMO_READY_MS; waited += 50) {
            if (out.includes(DEMO_READY_LINE))
                return 'ready';
            await sleep(50);
        }
        return `not ready within ${DEMO_READY_MS} ms`;
    })();
    const state = await Promise.race([ready, exited]);
    if (state !== 'ready')
        throw new Error(`gatehouse demo ${state}:\n${err.slice(-2000)}`);
    const base = /gatehouse demo: (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
    const issuer = /development issuer: (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
    if (base === null)
        throw new Error(`no base URL in the demo's output:\n${out.slice(0, 2000)}`);
    const read = (name) => fs.readFileSync(path.join(dir, name), 'utf8').trim();
    return {
        base: base[1],
        issuerOrigin: issuer !== null ? issuer[1] : null,
        dir,
        scimToken: read('scim-token'),
        adminToken: read('admin-token'),
        output: () => out,
    };
}

async function demoStop() {
    const p = demoProc;
    if (p !== null && p.exitCode === null && p.signalCode === null) {
        const gone = new Promise((r) => p.once('exit', r));
        p.kill('SIGTERM');
        if (await Promise.race([gone.then(() => true), sleep(STOP_MS).then(() => false)]) ===
            false) {
            p.kill('SIGKILL');
            await Promise.race([gone, sleep(STOP_MS)]);
        }
    }
    demoProc = null;
    if (tmpDir !== null) {
        fs.rmSync(tmpDir, { recursive: true, force: true });
        tmpDir = null;
    }
}

// ---- the browser --------------------------------------------------------------------------

let browser = null;

export async function browserLaunch() {
    browser = await chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        timeout: 30000,
        // Loopback only: no proxy, no name resolution (the demo is addressed by IP), none of
        // Chromium's background traffic.
        args: ['--no-proxy-server', '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
            '--disable-background-networking', '--disable-component-update', '--disable-sync',
            '--no-first-run', '--disable-dev-shm-usage'],
    });
    return browser;
}

// A fresh context (its own cookies) at 1280x800 with bounded waits. Every page it opens
// collects its console errors and uncaught errors in page.problems.
export async function newContext(base) {
    const context = await browser.newContext({ viewport: VIEWPORT, baseURL: base });
    context.setDefaultTimeout(10000);
    context.setDefaultNavigationTimeout(15000);
    context.on('page', watchPage);
    return context;
}

function watchPage(page) {
    if (page.problems !== undefined)
        return;
    page.problems = [];
    page.on('console', (msg) => {
        if (msg.type() === 'error')
            page.problems.push(`console error on ${page.url()}: ${msg.text()}`);
    });
    page.on('pageerror', (e) => page.problems.push(`page error on ${page.url()}: ${e.message}`));
}

export async function openPage(context) {
    const page = await context.newPage();
    watchPage(page);
    return page;
}

async function browserStop() {
    const b = browser;
    browser = null;
    if (b !== null)
        await Promise.race([b.close().catch(() => {}), sleep(STOP_MS)]);
}

export async function stopAll() {
    await browserStop();
    await demoStop();
}

// Last resort on a synchronous exit (an uncaught throw): the demo must not outlive us.
// (playwright-core kills the browser it launched on exit itself.)
process.on('exit', () => {
    if (demoProc !== null && demoProc.exitCode === null && demoProc.signalCode === null)
        demoProc.kill('SIGKILL');
    if (tmpDir !== null)
        fs.rmSync(tmpDir, { recursive: true, force: true });
});

// ---- helpers for tests --------------------------------------------------------------------

// Retry fn (async; a throw or a falsy value is "not yet") until it succeeds or timeoutMs passes;
// then throw naming what was awaited and the last error.
export async function eventually(what, fn, timeoutMs = 5000) {
    let last = null;
    for (const start = Date.now(); Date.now() - start < timeoutMs; await sleep(100)) {
        try {
            const v = await fn();
            if (v)
                return v;
            last = null;
        } catch (e) {
            last = e;
        }
    }
    throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
}

export function shotPath(name) {
    return path.join(ARTIFACTS, `${name}.png`);
}

// Sign in through the page and the development issuer's page as upn (shots: a name prefix for
// screenshots of the sign-in panel and the issuer's page, or null). Resolves once the browser is
// back on gatehouse: the page for an admin, the callback's refusal otherwise.
export async function signIn(page, base, upn, shots = null) {
    await page.goto('/admin/');
    const link = page.locator('#signin-link');
    await link.waitFor({ state: 'visible' });
    if (shots !== null)
        await page.screenshot({ path: shotPath(`${shots}-panel`) });
    await link.click();
    // the development issuer's authorization endpoint: one button per demo user
    const button = page.getByRole('button', { name: `Sign in as ${upn}` });
    await button.waitFor({ state: 'visible' });
    if (shots !== null)
        await page.screenshot({ path: shotPath(`${shots}-issuer`) });
    await button.click();
    const origin = new URL(base).origin;
    await page.waitForURL((u) => u.origin === origin, { timeout: 10000 });
    await page.waitForLoadState('load');
}

// ---- the runner ---------------------------------------------------------------------------

// Run tests ([{name, fn}]) one after another, each bounded by perTestMs; a failing test saves
// a screenshot of its pages. Prints "browser: N passed, F failed"; resolves to F.
export async function runTests(tests, env, perTestMs = 30000) {
    let passed = 0;
    let failed = 0;
    for (const t of tests) {
        const t0 = Date.now();
        let timer;
        try {
            await Promise.race([t.fn(env), new Promise((_, reject) => {
                timer = setTimeout(() => reject(new Error(`timed out after ${perTestMs} ms`)),
                    perTestMs);
            })]);
            passed++;
            console.log(`ok   ${t.name} (${Date.now() - t0} ms)`);
        } catch (e) {
            failed++;
            console.log(`FAIL ${t.name} (${Date.now() - t0} ms): ${describe(e)}`);
            if (!e.dependent)
                await failureShots(t.name, env);
        } finally {
            clearTimeout(timer);
        }
    }
    return { passed, failed };
}

// The message and the stack frames in the tests (not Node's or playwright-core's).
function describe(e) {
    if (!(e instanceof Error))
        return String(e);
    if (e.dependent)
        return e.message;
    const frames = (e.stack || '').split('\n').filter((l) => /^\s+at .*tests\/browser\/[a-z]+\.mjs/.test(l));
    return [`${e.name}: ${e.message}`, ...frames.slice(0, 4)].join('\n');
}

// An error saying a test could not run because an earlier one failed (no screenshots).
export function dependencyError(message) {
    const e = new Error(message);
    e.dependent = true;
    return e;
}

async function failureShots(name, env) {
    const pages = env.contexts().flatMap((c) => c.pages());
    for (const [i, p] of pages.entries()) {
        await Promise.race([p.screenshot({ path: shotPath(`FAILED-${name}-${i}`) })
            .catch(() => {}), sleep(3000)]);
    }
}
