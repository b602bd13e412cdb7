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

import fs from 'node:fs';
import path from 'node:path';
import { env, tests } from './admin_page.mjs';
import { ARTIFACTS, browserLaunch, demoStart, runTests, stopAll } from './harness.mjs';

const WATCHDOG_MS = 110000;

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
