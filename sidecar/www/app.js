/*
 * app.js - gatehouse's admin page (served at /admin/, ES module, no framework, no build step).
 *
 * It talks only to the daemon's own /admin/v1 API (docs/admin-api.md) with fetch: the session
 * cookie (after "Sign in with Entra ID") or, break-glass, an admin token held in a variable of
 * this module only (never localStorage, sessionStorage or a cookie). With a session, every
 * unsafe request carries X-CSRF-Token. Everything the API returns is put into the page as text
 * (textContent / DOM nodes), never as HTML.
 *
 * STABLE HOOKS for the browser tests (ids unless noted; keep them when changing the page):
 *
 *   whole page
 *     #alert                 role="alert": the last API error ("<error>: <message>"), else empty
 *     #alert-dismiss         button inside #alert
 *     #signin-panel          shown when not signed in (GET /admin/v1/session answered 401/403)
 *     #signin-message        why the sign-in panel is shown (expired, refused, callback error)
 *     #signin-link           <a> "Sign in with Entra ID" -> /admin/login?return=/admin/ (or
 *                            return=/admin/%23/<route> when the address names another view)
 *     #admin-token           password input for the break-glass admin token
 *     #admin-token-submit    button "Use token"
 *     #app                   nav + view, shown when signed in
 *     #session-user          "<displayName or userName> (<via>)", or "admin token"
 *     #signout               button "Sign out" (POST /admin/logout with X-CSRF-Token)
 *     #nav                   <nav>; links named Status, Identities, IdP groups, Access groups,
 *                            Links, Explain, Policy, Decisions, Settings (data-testid
 *                            nav-<route>), the current one has aria-current="page"
 *     #view                  <main>; its <h2 id="view-heading"> names the view
 *     [data-view="<route>"]  on #view once a view has rendered; aria-busy="false" when loaded
 *
 *   #/status                 #status-refresh, #status-last-scim, #status-counts (requests and
 *                            errors), #status-last-error, #status-users, #status-groups,
 *                            #status-memberships, #status-revision, #status-policy-revision,
 *                            #status-decisions, #status-token-validation, #status-token-warning
 *                            (only when token validation is not configured or not ready),
 *                            [data-testid=status-scim-warning] (no SCIM secret), #status-raw
 *   #/identities             #identities-search, #identities-raw-filter (checkbox),
 *                            #identities-search-submit, #identities-table (rows
 *                            data-testid="identity-row" data-id), #identities-prev,
 *                            #identities-next, #identities-page-info, #identity-detail
 *                            (detail panel; #/identities/<id> opens it)
 *   #/idp-groups             same with the idp-groups- prefix: #idp-groups-search,
 *                            #idp-groups-raw-filter, #idp-groups-search-submit, #idp-groups-table
 *                            (rows data-testid="idp-group-row" data-id), #idp-groups-prev,
 *                            #idp-groups-next, #idp-groups-page-info, #idp-group-detail
 *   #/access-groups          #ag-table (rows data-testid="ag-row" data-name, data-source,
 *                            data-link-state; buttons data-testid="ag-edit" / "ag-delete" /
 *                            "ag-delete-confirm" in admin rows), create form #ag-form:
 *                            #ag-name, grant rows #ag-grant-dataset-<i>, #ag-grant-protect-<i>,
 *                            #ag-grant-unprotect-<i> (i from 0), #ag-add-grant, #ag-create,
 *                            #ag-result (aria-live); edit form #ag-edit-form: #ag-edit-dataset-<i>,
 *                            #ag-edit-protect-<i>, #ag-edit-unprotect-<i>, #ag-edit-add-grant,
 *                            #ag-edit-save, #ag-edit-cancel
 *   #/links                  #links-state-filter (<select>, "" = all), #links-table (rows
 *                            data-testid="link-row" data-state), badges .badge[data-state]
 *   #/explain                #explain-user, #explain-dataset, #explain-action (<select>
 *                            protect/unprotect), #explain-token (optional, POST mode),
 *                            #explain-submit, #explain-result (aria-live), #explain-decision
 *                            (data-allowed="true|false", text "Allowed"/"Denied"),
 *                            #explain-reason, #explain-paths (one li data-testid="explain-path"
 *                            per IdP group, data-result)
 *   #/policy                 #policy-file (file input), #policy-text, #policy-dry-run,
 *                            #policy-reload, #policy-result (aria-live), #policy-summary,
 *                            #policy-users-table (rows data-testid="policy-user-row"),
 *                            #policy-reload-result
 *   #/decisions              #decisions-user, #decisions-dataset, #decisions-result (<select>
 *                            ""/allowed/denied), #decisions-limit, #decisions-refresh,
 *                            #decisions-auto (checkbox, every 5 s), #decisions-table (rows
 *                            data-testid="decision-row" data-allowed)
 *   #/settings               #settings-tenant-url (read-only input), #settings-copy-tenant-url,
 *                            #settings-copy-status (aria-live), #settings-secret-form,
 *                            #settings-rotation (<ol>), #settings-issuer, #settings-audience,
 *                            #settings-signin (<dl>), #settings-raw
 */

/* ------------------------------------------------------------------------------------------
 * State: who we are. The admin token lives here and nowhere else.
 * ------------------------------------------------------------------------------------------ */

const API = '/admin/v1';
const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const PAGE_SIZE = 25;

const state = {
    token: null,   /* break-glass admin token (string) or null */
    session: null, /* GET /admin/v1/session's reply, or a stand-in for a token without one */
    view: null,    /* the current view's cleanup function, if any */
    renderSeq: 0,  /* bumps on each route change: late replies of an old view are dropped */
};

const LINK_STATES = [
    ['linked', 'linked', 'Pinned to an IdP group that still has the access group\u2019s name.'],
    ['renamed', 'renamed', 'Pinned IdP group renamed in Entra; it still grants. Rename the access group to match, or accept.'],
    ['ambiguous', 'ambiguous', 'Several IdP groups have the name; none is linked. Delete or rename the duplicates in Entra.'],
    ['near_match', 'near match', 'No IdP group has the name; some differ only in punctuation, spacing, diacritics or width. Fix the name on one side.'],
    ['unlinked_access_group', 'unlinked access group', 'Nothing close in Entra: provision the group, or delete the access group.'],
    ['unlinked_idp_group', 'unlinked IdP group', 'No access group links or names this IdP group: it grants nothing.'],
];
const LINK_LABEL = Object.fromEntries(LINK_STATES.map(([k, l]) => [k, l]));
const LINK_HINT = Object.fromEntries(LINK_STATES.map(([k, , h]) => [k, h]));

/* ------------------------------------------------------------------------------------------
 * DOM helpers
 * ------------------------------------------------------------------------------------------ */

/* h('tag', {id, class, text, onclick, 'data-x', ...attrs}, ...children): children are nodes,
 * strings (text), arrays of those, or null/undefined/false (skipped). */
function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    if (attrs) {
        for (const [k, v] of Object.entries(attrs)) {
            if (v === null || v === undefined || v === false)
                continue;
            if (k === 'class')
                el.className = v;
            else if (k === 'text')
                el.textContent = v;
            else if (k.startsWith('on') && typeof v === 'function')
                el.addEventListener(k.slice(2), v);
            else if (k === 'value')
                el.value = v;
            else if (k === 'checked')
                el.checked = Boolean(v);
            else if (v === true)
                el.setAttribute(k, '');
            else
                el.setAttribute(k, String(v));
        }
    }
    append(el, children);
    return el;
}

function append(el, children) {
    for (const c of children) {
        if (c === null || c === undefined || c === false)
            continue;
        if (Array.isArray(c))
            append(el, c);
        else if (c instanceof Node)
            el.appendChild(c);
        else
            el.appendChild(document.createTextNode(String(c)));
    }
    return el;
}

function clear(el) {
    while (el.firstChild)
        el.removeChild(el.firstChild);
    return el;
}

function $(id) {
    return document.getElementById(id);
}

/* A table inside a horizontally scrolling container. cols: [label, ...]; rows: <tr> nodes. */
function table(id, caption, cols, rows, empty) {
    const t = h('table', {id, 'data-testid': id},
        caption ? h('caption', {text: caption}) : null,
        h('thead', null, h('tr', null, cols.map((c) => h('th', {scope: 'col', text: c})))),
        h('tbody', null, rows.length ? rows
            : h('tr', {class: 'empty'}, h('td', {colspan: cols.length, text: empty || 'Nothing to show.'}))));
    return h('div', {class: 'table-wrap', tabindex: '0', role: 'region',
        'aria-label': caption || id}, t);
}

function badge(stateName, label) {
    return h('span', {class: `badge badge-${stateName}`, 'data-state': stateName,
        text: label || LINK_LABEL[stateName] || stateName});
}

function dl(pairs, attrs) {
    const d = h('dl', Object.assign({class: 'kv'}, attrs || {}));
    for (const [k, v, id] of pairs) {
        if (v === undefined)
            continue;
        d.appendChild(h('dt', {text: k}));
        d.appendChild(h('dd', id ? {id, 'data-testid': id} : null, v === null ? '\u2013' : v));
    }
    return d;
}

/* Any JSON value as nested lists: for replies whose shape this page does not know (yet). */
function jsonTree(v) {
    if (v === null || v === undefined)
        return h('span', {class: 'null', text: 'null'});
    if (Array.isArray(v)) {
        if (!v.length)
            return h('span', {class: 'null', text: '[]'});
        return h('ol', {class: 'json'}, v.map((x) => h('li', null, jsonTree(x))));
    }
    if (typeof v === 'object') {
        const keys = Object.keys(v);
        if (!keys.length)
            return h('span', {class: 'null', text: '{}'});
        return h('dl', {class: 'kv json'}, keys.map((k) => [h('dt', {text: k}), h('dd', null, jsonTree(v[k]))]));
    }
    return h('span', {text: String(v)});
}

function rawDetails(id, v) {
    return h('details', {class: 'raw', id, 'data-testid': id},
        h('summary', {text: 'All fields (JSON)'}), jsonTree(v));
}

function fmtTime(s) {
    if (!s)
        return '\u2013';
    const d = new Date(s);
    if (Number.isNaN(d.getTime()))
        return String(s);
    return d.toLocaleString(undefined, {dateStyle: 'medium', timeStyle: 'medium'});
}

function timeEl(s) {
    if (!s)
        return '\u2013';
    return h('time', {datetime: String(s), title: String(s), text: fmtTime(s)});
}

function fmtAge(ms) {
    if (ms === null || ms === undefined || Number.isNaN(Number(ms)))
        return '\u2013';
    let s = Math.round(Number(ms) / 1000);
    if (s < 60)
        return `${s} s`;
    let m = Math.floor(s / 60);
    s %= 60;
    if (m < 60)
        return `${m} min ${s} s`;
    const hr = Math.floor(m / 60);
    m %= 60;
    if (hr < 48)
        return `${hr} h ${m} min`;
    return `${Math.floor(hr / 24)} days`;
}

function grantsText(grants) {
    if (!grants || !grants.length)
        return 'no grants';
    return grants.map((g) => `${g.dataset}: ${(g.actions || []).join(', ') || 'no actions'}`).join('; ');
}

/* A polite live region for a view's results. */
function live(id) {
    return h('div', {id, 'data-testid': id, class: 'result', 'aria-live': 'polite'});
}

/* ------------------------------------------------------------------------------------------
 * Alerts: API errors ({"error","message"}) and page errors
 * ------------------------------------------------------------------------------------------ */

function showAlert(text) {
    const a = $('alert');
    clear(a);
    if (!text)
        return;
    append(a, [h('span', {class: 'alert-text', text}),
        h('button', {type: 'button', id: 'alert-dismiss', 'data-testid': 'alert-dismiss',
            class: 'link-button', onclick: () => showAlert(null)}, 'Dismiss')]);
}

function showError(e) {
    if (e instanceof ApiError)
        showAlert(`${e.error}: ${e.message}` + (e.status ? ` (HTTP ${e.status})` : ''));
    else
        showAlert(`error: ${e && e.message ? e.message : String(e)}`);
}

/* ------------------------------------------------------------------------------------------
 * API access
 * ------------------------------------------------------------------------------------------ */

class ApiError extends Error {
    constructor(status, error, message, body) {
        super(message);
        this.status = status;
        this.error = error;
        this.body = body;
    }
}

/*
 * api(method, path, {json, text, quiet}) -> the reply's JSON (null for 204).
 * Throws ApiError for any non-2xx answer. A 401 (session ended, token refused) also returns the
 * page to the sign-in panel unless quiet.
 */
async function api(method, path, opts = {}) {
    const headers = {Accept: 'application/json'};
    let body;
    if (opts.json !== undefined) {
        headers['Content-Type'] = 'application/json';
        body = JSON.stringify(opts.json);
    } else if (opts.text !== undefined) {
        headers['Content-Type'] = 'application/json';
        body = opts.text;
    }
    if (state.token)
        headers.Authorization = `Bearer ${state.token}`;
    if (UNSAFE.has(method) && state.session && state.session.csrf_token)
        headers['X-CSRF-Token'] = state.session.csrf_token;

    let resp;
    try {
        resp = await fetch(path, {method, headers, body, credentials: 'same-origin',
            cache: 'no-store', redirect: 'error'});
    } catch (e) {
        throw new ApiError(0, 'network', `cannot reach gatehouse (${e.message})`, null);
    }
    const raw = resp.status === 204 ? '' : await resp.text();
    let data = null;
    if (raw) {
        try {
            data = JSON.parse(raw);
        } catch (e) {
            data = null;
        }
    }
    if (!resp.ok) {
        const err = new ApiError(resp.status,
            (data && data.error) || resp.statusText || 'error',
            (data && data.message) || raw.slice(0, 200) || `HTTP ${resp.status}`, data);
        if (resp.status === 401 && !opts.quiet)
            signedOut(state.token ? `The admin token was refused: ${err.message}`
                : `Signed out: ${err.message}`);
        /* removed from the admin group in Entra, or deactivated: the server ended the session */
        else if (resp.status === 403 && err.error === 'forbidden' && !state.token && !opts.quiet)
            signedOut(err.message);
        throw err;
    }
    if (raw && data === null)
        throw new ApiError(resp.status, 'bad_reply', 'the reply is not JSON', null);
    return data;
}

function qs(params) {
    const u = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) {
        if (v !== undefined && v !== null && v !== '')
            u.set(k, String(v));
    }
    const s = u.toString();
    return s ? `?${s}` : '';
}

/* ------------------------------------------------------------------------------------------
 * Session: sign-in panel, break-glass token, sign-out
 * ------------------------------------------------------------------------------------------ */

/* The sign-in link returns to the view the page shows (#/<route>, never its detail id: the
 * server takes a plain path under /admin/ with no '%'). */
function signinLinkUpdate() {
    const m = /^#\/([a-z-]+)/.exec(location.hash);
    const back = m && ROUTES[m[1]] && m[1] !== 'status' ? `/admin/#/${m[1]}` : '/admin/';
    $('signin-link').setAttribute('href', `/admin/login?return=${encodeURIComponent(back)}`);
}

function signedOut(message) {
    state.token = null;
    state.session = null;
    state.renderSeq++; /* replies still on the way belong to no view */
    if (state.view) {
        state.view();
        state.view = null;
    }
    $('app').hidden = true;
    $('session-box').hidden = true;
    $('signin-panel').hidden = false;
    $('signin-message').textContent = message || '';
    clear($('view'));
    signinLinkUpdate();
}

function signedIn(session) {
    state.session = session;
    const u = session.user || {};
    const name = u.displayName || u.userName || u.id;
    let who;
    if (session.via === 'token' || !name)
        who = 'admin token (break-glass)';
    else
        who = `${name}${u.userName && u.userName !== name ? ` <${u.userName}>` : ''}`;
    $('session-user').textContent = `Signed in: ${who}`;
    if (session.expires && session.via !== 'token')
        $('session-user').title = `Session until ${fmtTime(session.expires)}`;
    $('session-box').hidden = false;
    $('signin-panel').hidden = true;
    $('signin-message').textContent = '';
    $('app').hidden = false;
    route(false);
}

async function checkSession() {
    try {
        const s = await api('GET', `${API}/session`, {quiet: true});
        signedIn(s || {});
    } catch (e) {
        if (e instanceof ApiError && (e.status === 401 || e.status === 403)) {
            signedOut(e.status === 403 ? `Signed in, but not an administrator: ${e.message}` : callbackMessage());
            return;
        }
        signedOut(callbackMessage());
        showError(e);
    }
}

/* /admin/?error=…&error_description=… after a failed sign-in: say so on the panel. */
function callbackMessage() {
    const p = new URLSearchParams(location.search);
    const err = p.get('error');
    if (!err)
        return '';
    const why = p.get('error_description') || p.get('message') || '';
    return `Sign-in failed: ${err}${why ? ` \u2013 ${why}` : ''}`;
}

async function useToken(ev) {
    ev.preventDefault();
    const input = $('admin-token');
    const tok = input.value.trim();
    input.value = '';
    if (!tok)
        return;
    state.token = tok;
    try {
        let s;
        try {
            s = await api('GET', `${API}/session`, {quiet: true});
        } catch (e) {
            if (!(e instanceof ApiError) || e.status !== 404)
                throw e;
            /* a daemon without the session route: any admin read proves the token */
            await api('GET', `${API}/access-groups`, {quiet: true});
            s = {via: 'token'};
        }
        showAlert(null);
        signedIn(Object.assign({via: 'token'}, s || {}));
    } catch (e) {
        state.token = null;
        if (e instanceof ApiError && e.status === 401)
            showAlert(`The admin token was refused: ${e.message}`);
        else
            showError(e);
    }
}

async function signOut() {
    if (state.token || !state.session || state.session.via === 'token') {
        signedOut('Signed out: the admin token is forgotten.');
        return;
    }
    try {
        const headers = {};
        if (state.session.csrf_token)
            headers['X-CSRF-Token'] = state.session.csrf_token;
        const r = await fetch('/admin/logout', {method: 'POST', headers, credentials: 'same-origin',
            redirect: 'manual'});
        if (r.type !== 'opaqueredirect' && !r.ok && r.status !== 401) {
            let msg = `HTTP ${r.status}`;
            try {
                const j = await r.json();
                msg = `${j.error}: ${j.message}`;
            } catch (e) { /* not JSON */ }
            showAlert(`Sign-out failed: ${msg}`);
            return;
        }
        showAlert(null);
        signedOut('Signed out.');
    } catch (e) {
        showError(e);
    }
}

/* ------------------------------------------------------------------------------------------
 * Router: #/<route>[/<id>]
 * ------------------------------------------------------------------------------------------ */

const ROUTES = {
    'status': {title: 'Status', render: viewStatus},
    'identities': {title: 'Identities', render: (v, arg, ctx) => viewDirectory(v, arg, ctx, DIR_IDENTITIES)},
    'idp-groups': {title: 'IdP groups', render: (v, arg, ctx) => viewDirectory(v, arg, ctx, DIR_IDP_GROUPS)},
    'access-groups': {title: 'Access groups', render: viewAccessGroups},
    'links': {title: 'Links', render: viewLinks},
    'explain': {title: 'Explain', render: viewExplain},
    'policy': {title: 'Policy', render: viewPolicy},
    'decisions': {title: 'Decisions', render: viewDecisions},
    'settings': {title: 'Settings', render: viewSettings},
};

function parseHash() {
    const m = /^#\/([a-z-]+)(?:\/(.*))?$/.exec(location.hash);
    if (!m || !ROUTES[m[1]])
        return {name: 'status', arg: null};
    let arg = null;
    if (m[2]) {
        try {
            arg = decodeURIComponent(m[2]);
        } catch (e) {
            arg = null;
        }
    }
    return {name: m[1], arg};
}

/* Renders the view named by the hash. focus: move focus to the view's heading (on navigation,
 * not on the first load), so keyboard and screen-reader users land on what changed. */
function route(focus) {
    if (!state.session)
        return;
    if (state.view) {
        state.view();
        state.view = null;
    }
    const {name, arg} = parseHash();
    const r = ROUTES[name];
    showAlert(null); /* an error belongs to the view that caused it */
    document.title = `${r.title} \u2013 Gatehouse admin`;
    for (const a of document.querySelectorAll('#nav a[data-route]')) {
        if (a.dataset.route === name)
            a.setAttribute('aria-current', 'page');
        else
            a.removeAttribute('aria-current');
    }
    const v = clear($('view'));
    v.dataset.view = name;
    const seq = ++state.renderSeq;
    const heading = h('h2', {id: 'view-heading', tabindex: '-1', text: r.title});
    v.appendChild(heading);
    v.setAttribute('aria-labelledby', 'view-heading');
    const ctx = {
        seq,
        alive: () => seq === state.renderSeq,
        busy: (b) => {
            if (seq === state.renderSeq)
                v.setAttribute('aria-busy', b ? 'true' : 'false');
        },
    };
    if (focus)
        heading.focus();
    Promise.resolve(r.render(v, arg, ctx)).then((cleanup) => {
        if (typeof cleanup === 'function') {
            if (ctx.alive())
                state.view = cleanup;
            else
                cleanup();
        }
    }).catch(showError);
}

/* Runs fn with the view marked busy; errors go to the alert region. Returns fn's value or
 * undefined after an error. */
async function guarded(ctx, fn) {
    ctx.busy(true);
    try {
        return await fn();
    } catch (e) {
        if (ctx.alive())
            showError(e);
        return undefined;
    } finally {
        ctx.busy(false);
    }
}

/* ------------------------------------------------------------------------------------------
 * Status
 * ------------------------------------------------------------------------------------------ */

async function viewStatus(v, _arg, ctx) {
    const body = h('div', {id: 'status-body'});
    append(v, [
        h('p', {class: 'intro', text: 'What Entra ID\u2019s provisioning service last did, and the data and policy decisions are read from.'}),
        h('div', {class: 'toolbar'},
            h('button', {type: 'button', id: 'status-refresh', 'data-testid': 'status-refresh',
                onclick: load}, 'Refresh')),
        body,
    ]);

    async function load() {
        const s = await guarded(ctx, () => api('GET', `${API}/status`));
        if (!ctx.alive() || s === undefined)
            return;
        clear(body);
        renderStatus(body, s || {});
    }
    await load();
}

function renderStatus(body, s) {
    const prov = s.provisioning || {};
    const dir = s.directory || {};
    const pol = s.policy || {};
    const dec = s.decisions || {};
    const tv = s.token_validation || {};
    const num = (x) => (x === undefined || x === null ? '\u2013' : String(x));

    if (tv.configured === false) {
        body.appendChild(h('div', {class: 'warning', id: 'status-token-warning',
            'data-testid': 'status-token-warning', role: 'status'},
        h('strong', null, 'Token validation is not configured. '),
        'Set GATEHOUSE_OIDC_DISCOVERY (and GATEHOUSE_AUDIENCE): until then /v1/authorize answers '
            + '503 and no decision can allow anything.'));
    } else if (tv.configured && tv.ready === false) {
        body.appendChild(h('div', {class: 'warning', id: 'status-token-warning',
            'data-testid': 'status-token-warning', role: 'status'},
        h('strong', null, 'Token validation is not ready: '), tv.reason || 'no signing keys loaded yet.'));
    }
    if (prov.secret_configured === false) {
        body.appendChild(h('div', {class: 'warning', 'data-testid': 'status-scim-warning', role: 'status'},
            h('strong', null, 'No SCIM secret is configured: '),
            'Entra ID cannot provision until GATEHOUSE_SCIM_TOKEN is set (see ',
            h('a', {href: '#/settings', text: 'Settings'}), ').'));
    }

    const reqLine = (x, none) => {
        if (!x)
            return h('span', {class: 'muted', text: none});
        return h('span', null, timeEl(x.time),
            x.age_s !== undefined && x.age_s !== null ? h('span', {class: 'muted', text: ` (${fmtAge(x.age_s * 1000)} ago)`}) : null,
            ' \u2013 ', h('code', {text: `${x.method || '?'} ${x.path || ''}`.trim()}),
            x.status !== undefined ? [' \u2192 ', statusBadge(x.status)] : null);
    };

    body.appendChild(h('section', {class: 'card', 'aria-labelledby': 'status-prov-h'},
        h('h3', {id: 'status-prov-h', text: 'Provisioning (SCIM)'}),
        dl([
            ['Last SCIM request', reqLine(prov.last_request, 'No SCIM request since gatehouse started.'), 'status-last-scim'],
            ['Requests since start', h('span', null, num(prov.requests),
                h('span', {class: 'muted', text: ' requests, '}),
                h('span', {class: Number(prov.errors) > 0 ? 'bad' : null, text: num(prov.errors)}),
                h('span', {class: 'muted', text: ' errors (status 400 or more)'})), 'status-counts'],
            ['Last error', reqLine(prov.last_error, 'None since start.'), 'status-last-error'],
            ['SCIM secret', prov.secret_configured === undefined ? undefined
                : prov.secret_configured ? 'configured' : h('span', {class: 'bad', text: 'not configured'})],
        ])));

    const age = dir.revision_age_ms;
    body.appendChild(h('section', {class: 'card', 'aria-labelledby': 'status-dir-h'},
        h('h3', {id: 'status-dir-h', text: 'Directory'}),
        dl([
            ['Users', num(dir.users), 'status-users'],
            ['IdP groups', num(dir.groups), 'status-groups'],
            ['Memberships', num(dir.memberships), 'status-memberships'],
            ['Store revision', h('span', null, num(dir.revision),
                age !== undefined && age !== null ? h('span', {class: 'muted', text: ` (changed ${fmtAge(age)} ago)`}) : null,
                dir.revision_changed ? h('span', {class: 'muted'}, ' at ', timeEl(dir.revision_changed)) : null), 'status-revision'],
            ['Index confirmed current', dir.index_age_ms === undefined ? undefined
                : dir.index_age_ms === null ? h('span', {class: 'bad', text: 'no: a write is known to be missing'})
                    : `${fmtAge(dir.index_age_ms)} ago`],
            ['Store', dir.backend === undefined ? undefined : h('span', null, dir.backend,
                dir.reachable === false ? h('span', {class: 'bad', text: ' (unreachable)'}) : null)],
        ])));

    body.appendChild(h('section', {class: 'card', 'aria-labelledby': 'status-pol-h'},
        h('h3', {id: 'status-pol-h', text: 'Policy and decisions'}),
        dl([
            ['Policy revision', pol.revision ? h('code', {text: String(pol.revision)}) : '\u2013', 'status-policy-revision'],
            ['Policy file', pol.file === undefined ? undefined : pol.file ? h('code', {text: String(pol.file)}) : 'none'],
            ['Access groups', pol.access_groups === undefined ? undefined : String(pol.access_groups)],
            ['Reloads', pol.reloads === undefined ? undefined
                : h('span', null, String(pol.reloads), Number(pol.reload_failures) > 0
                    ? h('span', {class: 'bad', text: `, ${pol.reload_failures} failed (the running policy stayed in force)`}) : null)],
            ['Decisions since start', dec.allowed === undefined ? undefined
                : `${dec.allowed} allowed, ${dec.denied} denied`, 'status-decisions'],
            ['Decision log', dec.log === undefined ? undefined : h('span', null, dec.log ? 'on' : 'off (GATEHOUSE_DECISION_LOG unset)',
                Number(dec.log_write_failures) > 0 ? h('span', {class: 'bad', text: `, ${dec.log_write_failures} write failures`}) : null)],
            ['Token validation', tv.configured === undefined ? '\u2013'
                : !tv.configured ? h('span', {class: 'bad', text: 'not configured'})
                    : h('span', null, tv.ready === false ? h('span', {class: 'bad', text: `not ready${tv.reason ? `: ${tv.reason}` : ''}`})
                        : 'ready', tv.keys !== undefined ? ` (${tv.keys} keys${tv.keys_loaded ? `, loaded ${fmtTime(tv.keys_loaded)}` : ''})` : ''),
            'status-token-validation'],
            ['gatehouse', s.version === undefined ? undefined
                : `${s.version}, up ${fmtAge((s.uptime_s || 0) * 1000)}${s.started ? ` (since ${fmtTime(s.started)})` : ''}`],
        ])));

    body.appendChild(rawDetails('status-raw', s));
}

function statusBadge(code) {
    const n = Number(code);
    const cls = n >= 500 ? 'denied' : n >= 400 ? 'warn' : 'allowed';
    return h('span', {class: `badge badge-${cls}`, text: String(code)});
}

/* ------------------------------------------------------------------------------------------
 * Identities and IdP groups (read-only): search, paging, detail panel
 * ------------------------------------------------------------------------------------------ */

const DIR_IDENTITIES = {
    route: 'identities',
    prefix: 'identities',
    path: 'identities',
    listKey: 'identities',
    noun: 'identity',
    rowTestId: 'identity-row',
    detailId: 'identity-detail',
    searchLabel: 'Search users (userName or displayName contains)',
    filter: (q) => `userName co ${JSON.stringify(q)} or displayName co ${JSON.stringify(q)}`,
    cols: ['User name', 'Display name', 'External id', 'Active', 'IdP groups', ''],
    row: (it) => [
        h('th', {scope: 'row'}, it.userName || it.id),
        h('td', {text: it.displayName || '\u2013'}),
        h('td', null, it.externalId ? h('code', {text: it.externalId}) : '\u2013'),
        h('td', null, it.active === false ? badge('denied', 'inactive') : badge('allowed', 'active')),
        h('td', {text: Array.isArray(it.groups) ? String(it.groups.length) : '\u2013'}),
    ],
    detail: renderIdentityDetail,
};

const DIR_IDP_GROUPS = {
    route: 'idp-groups',
    prefix: 'idp-groups',
    path: 'idp-groups',
    listKey: 'idp_groups',
    noun: 'IdP group',
    rowTestId: 'idp-group-row',
    detailId: 'idp-group-detail',
    searchLabel: 'Search groups (displayName contains)',
    filter: (q) => `displayName co ${JSON.stringify(q)}`,
    cols: ['Display name', 'External id', 'Members', 'Link', 'Access group', ''],
    row: (it) => [
        h('th', {scope: 'row'}, it.displayName || it.id),
        h('td', null, it.externalId ? h('code', {text: it.externalId}) : '\u2013'),
        h('td', {text: Array.isArray(it.members) ? String(it.members.length) : '\u2013'}),
        h('td', null, it.link_state ? badge(it.link_state) : '\u2013'),
        h('td', {text: it.access_group ? it.access_group.name : '\u2013'}),
    ],
    detail: renderIdpGroupDetail,
};

async function viewDirectory(v, arg, ctx, D) {
    const p = D.prefix;
    let query = '';
    let raw = false;
    let start = 1;

    const search = h('input', {type: 'search', id: `${p}-search`, 'data-testid': `${p}-search`,
        name: 'q', autocomplete: 'off', spellcheck: 'false'});
    const rawBox = h('input', {type: 'checkbox', id: `${p}-raw-filter`, 'data-testid': `${p}-raw-filter`});
    const listBox = h('div', {id: `${p}-list`});
    const pageInfo = h('span', {id: `${p}-page-info`, 'data-testid': `${p}-page-info`, 'aria-live': 'polite'});
    const prev = h('button', {type: 'button', id: `${p}-prev`, 'data-testid': `${p}-prev`, disabled: true,
        onclick: () => { start = Math.max(1, start - PAGE_SIZE); load(); }}, 'Previous page');
    const next = h('button', {type: 'button', id: `${p}-next`, 'data-testid': `${p}-next`, disabled: true,
        onclick: () => { start += PAGE_SIZE; load(); }}, 'Next page');
    const detail = h('section', {id: D.detailId, 'data-testid': D.detailId, class: 'detail card',
        'aria-label': `${D.noun} details`, hidden: true});

    const form = h('form', {class: 'search', role: 'search', onsubmit: (ev) => {
        ev.preventDefault();
        query = search.value.trim();
        raw = rawBox.checked;
        start = 1;
        load();
    }},
    h('label', {for: `${p}-search`, text: D.searchLabel}),
    h('div', {class: 'row'}, search,
        h('button', {type: 'submit', id: `${p}-search-submit`, 'data-testid': `${p}-search-submit`}, 'Search')),
    h('div', {class: 'row small'}, rawBox,
        h('label', {for: `${p}-raw-filter`}, 'Search text is a SCIM filter (e.g. ',
            h('code', {text: D.route === 'identities' ? 'active eq false' : 'displayName sw "Payroll"'}), ')')));

    append(v, [
        h('p', {class: 'intro', text: `Read-only: ${D.route === 'identities' ? 'users' : 'groups'} are written by Entra ID through SCIM provisioning only.`}),
        form,
        h('div', {class: 'split'},
            h('div', {class: 'split-main'}, listBox,
                h('div', {class: 'pager'}, prev, pageInfo, next)),
            detail),
    ]);

    async function load() {
        const filter = query ? (raw ? query : D.filter(query)) : '';
        const r = await guarded(ctx, () => api('GET', `${API}/${D.path}${qs({filter, startIndex: start, count: PAGE_SIZE})}`));
        if (!ctx.alive() || r === undefined)
            return;
        const items = (r && r[D.listKey]) || [];
        const total = Number(r.total_results || 0);
        const first = Number(r.start_index || start);
        const per = Number(r.items_per_page !== undefined ? r.items_per_page : items.length);
        const rows = items.map((it) => {
            const cells = D.row(it);
            const btn = h('button', {type: 'button', class: 'small', 'data-testid': `${D.rowTestId}-open`,
                'aria-label': `Details of ${it.userName || it.displayName || it.id}`,
                onclick: () => openDetail(it.id, btn)}, 'Details');
            cells.push(h('td', null, btn));
            return h('tr', {'data-testid': D.rowTestId, 'data-id': it.id}, cells);
        });
        clear(listBox).appendChild(table(`${p}-table`, `${D.route === 'identities' ? 'Identities' : 'IdP groups'}${query ? ` matching \u201c${query}\u201d` : ''}`,
            D.cols, rows, query ? 'Nothing matches.' : 'Nothing provisioned yet.'));
        const last = Math.min(total, first + per - 1);
        pageInfo.textContent = total === 0 ? 'No results'
            : per === 0 ? `${total} in all` : `${first}\u2013${last} of ${total}`;
        prev.disabled = first <= 1;
        next.disabled = first + per > total || per === 0;
    }

    async function openDetail(id, opener) {
        if (location.hash !== `#/${D.route}/${encodeURIComponent(id)}`)
            history.replaceState(null, '', `#/${D.route}/${encodeURIComponent(id)}`);
        const r = await guarded(ctx, () => api('GET', `${API}/${D.path}/${encodeURIComponent(id)}`));
        if (!ctx.alive() || r === undefined)
            return;
        clear(detail);
        detail.hidden = false;
        detail.parentElement.classList.add('with-detail');
        const close = h('button', {type: 'button', class: 'small', id: `${D.detailId}-close`,
            'data-testid': `${D.detailId}-close`, onclick: () => {
                detail.hidden = true;
                detail.parentElement.classList.remove('with-detail');
                clear(detail);
                history.replaceState(null, '', `#/${D.route}`);
                if (opener && opener.isConnected)
                    opener.focus();
            }}, 'Close');
        D.detail(detail, r, close);
        const hd = detail.querySelector('h3');
        if (hd && opener) {
            hd.tabIndex = -1;
            hd.focus();
        }
    }

    await load();
    if (arg)
        await openDetail(arg, null);
}

function renderIdentityDetail(el, u, close) {
    append(el, [
        h('div', {class: 'detail-head'}, h('h3', {text: u.displayName || u.userName || u.id}), close),
        dl([
            ['User name', u.userName],
            ['Display name', u.displayName],
            ['SCIM id', h('code', {text: u.id})],
            ['External id', u.externalId ? h('code', {text: u.externalId}) : null],
            ['Active', u.active === false ? badge('denied', 'inactive') : badge('allowed', 'active')],
            ['Created', timeEl(u.created)],
            ['Modified', timeEl(u.modified)],
        ]),
        h('h4', {text: 'IdP groups (direct memberships)'}),
        (u.groups && u.groups.length)
            ? h('ul', {class: 'plain', 'data-testid': 'identity-groups'}, u.groups.map((g) =>
                h('li', null, h('a', {href: `#/idp-groups/${encodeURIComponent(g.id)}`, text: g.display || g.id}))))
            : h('p', {class: 'muted', text: 'Member of no IdP group.'}),
        h('h4', {text: 'Access groups (through linked IdP groups)'}),
        (u.access_groups && u.access_groups.length)
            ? h('ul', {class: 'plain', 'data-testid': 'identity-access-groups'}, u.access_groups.map((a) =>
                h('li', null, h('a', {href: '#/access-groups', text: a.name}), ' ',
                    h('span', {class: 'muted', text: `(${a.source}) via ${a.via ? a.via.displayName : '?'} `}),
                    a.link_state ? badge(a.link_state) : null)))
            : h('p', {class: 'muted', text: 'No access group: this user gets only the default grants.'}),
        h('p', {class: 'hint'}, 'Whether a decision allows also depends on default grants, cut-offs and the token: ',
            h('a', {href: '#/explain', text: 'explain a decision'}), '.'),
    ]);
}

function renderIdpGroupDetail(el, g, close) {
    const members = g.members || [];
    append(el, [
        h('div', {class: 'detail-head'}, h('h3', {text: g.displayName || g.id}), close),
        dl([
            ['SCIM id', h('code', {text: g.id})],
            ['External id', g.externalId ? h('code', {text: g.externalId}) : null],
            ['Created', timeEl(g.created)],
            ['Modified', timeEl(g.modified)],
            ['Link', g.link_state ? h('span', null, badge(g.link_state), ' ',
                h('span', {class: 'muted', text: LINK_HINT[g.link_state] || ''})) : null],
            ['Access group', g.access_group ? h('span', null, h('a', {href: '#/access-groups', text: g.access_group.name}),
                h('span', {class: 'muted', text: ` (${g.access_group.source})`})) : null],
        ]),
        h('h4', {text: `Members (${members.length})`}),
        members.length
            ? h('ul', {class: 'plain', 'data-testid': 'idp-group-members'}, members.map((m) =>
                h('li', null, m.type === 'Group' ? [h('span', {text: m.display || m.id}), h('span', {class: 'muted', text: ' (nested group: does not grant)'})]
                    : h('a', {href: `#/identities/${encodeURIComponent(m.id)}`, text: m.display || m.id}))))
            : h('p', {class: 'muted', text: 'No members.'}),
    ]);
}

/* ------------------------------------------------------------------------------------------
 * Access groups: list, create, edit grants, delete
 * ------------------------------------------------------------------------------------------ */

/* An editable list of grant rows (dataset + protect/unprotect). prefix names the inputs'
 * ids: <prefix>-dataset-<i>, <prefix>-protect-<i>, <prefix>-unprotect-<i>. */
function grantEditor(prefix, initial) {
    const rows = h('div', {class: 'grants', id: `${prefix}-grants`, 'data-testid': `${prefix}-grants`});
    let n = 0;

    function addRow(g) {
        const i = n++;
        const acts = new Set((g && g.actions) || []);
        const row = h('fieldset', {class: 'grant-row', 'data-testid': `${prefix}-grant-row`},
            h('legend', {class: 'sr-only', text: `Grant ${i + 1}`}),
            h('label', {for: `${prefix}-dataset-${i}`, text: 'Dataset'}),
            h('input', {type: 'text', id: `${prefix}-dataset-${i}`, 'data-testid': `${prefix}-dataset`,
                class: 'grant-dataset', value: (g && g.dataset) || '', autocomplete: 'off', spellcheck: 'false'}),
            h('span', {class: 'check'},
                h('input', {type: 'checkbox', id: `${prefix}-protect-${i}`, 'data-testid': `${prefix}-protect`,
                    class: 'grant-protect', checked: acts.has('protect')}),
                h('label', {for: `${prefix}-protect-${i}`, text: 'protect'})),
            h('span', {class: 'check'},
                h('input', {type: 'checkbox', id: `${prefix}-unprotect-${i}`, 'data-testid': `${prefix}-unprotect`,
                    class: 'grant-unprotect', checked: acts.has('unprotect')}),
                h('label', {for: `${prefix}-unprotect-${i}`, text: 'unprotect'})),
            h('button', {type: 'button', class: 'small', 'data-testid': `${prefix}-remove-grant`,
                'aria-label': `Remove grant ${i + 1}`, onclick: () => {
                    row.remove();
                    const first = rows.querySelector('input');
                    if (first)
                        first.focus();
                }}, 'Remove'));
        rows.appendChild(row);
        return row;
    }

    function reset(list) {
        clear(rows);
        n = 0;
        for (const g of list || [])
            addRow(g);
        if (!list || !list.length)
            addRow(null);
    }
    reset(initial);

    return {
        el: rows,
        reset,
        add: () => {
            const r = addRow(null);
            r.querySelector('input').focus();
        },
        /* The grants as the API wants them; a row with neither a dataset nor an action is
         * skipped (an empty form row), any other goes to the API, which names what is wrong. */
        value: () => {
            const out = [];
            for (const r of rows.querySelectorAll('.grant-row')) {
                const dataset = r.querySelector('.grant-dataset').value.trim();
                const actions = [];
                if (r.querySelector('.grant-protect').checked)
                    actions.push('protect');
                if (r.querySelector('.grant-unprotect').checked)
                    actions.push('unprotect');
                if (!dataset && !actions.length)
                    continue;
                out.push({dataset, actions});
            }
            return out;
        },
    };
}

function grantsList(grants) {
    if (!grants || !grants.length)
        return h('span', {class: 'muted', text: 'no grants'});
    return h('ul', {class: 'plain grants-list'}, grants.map((g) =>
        h('li', null, h('code', {text: g.dataset}), ': ', (g.actions || []).join(', ') || 'no actions')));
}

async function viewAccessGroups(v, _arg, ctx) {
    const listBox = h('div', {id: 'ag-list'});
    const result = live('ag-result');
    const editBox = h('div', {id: 'ag-edit-box'});

    const name = h('input', {type: 'text', id: 'ag-name', 'data-testid': 'ag-name', required: true,
        autocomplete: 'off', spellcheck: 'false', 'aria-describedby': 'ag-name-hint'});
    const ed = grantEditor('ag-grant', null);
    const form = h('form', {id: 'ag-form', 'data-testid': 'ag-form', class: 'card', onsubmit: create},
        h('h3', {text: 'Create an access group'}),
        h('label', {for: 'ag-name', text: 'Name'}),
        name,
        h('p', {class: 'hint', id: 'ag-name-hint', text: 'It links the IdP group with the same name '
            + '(case and surrounding spaces ignored) as soon as exactly one exists.'}),
        h('h4', {text: 'Grants'}),
        ed.el,
        h('div', {class: 'row'},
            h('button', {type: 'button', id: 'ag-add-grant', 'data-testid': 'ag-add-grant', onclick: ed.add}, 'Add grant'),
            h('button', {type: 'submit', id: 'ag-create', 'data-testid': 'ag-create', class: 'primary'}, 'Create access group')));

    append(v, [
        h('p', {class: 'intro'}, 'Access groups grant datasets. Groups declared in the policy file are read-only here: '
            + 'edit the file, then ', h('a', {href: '#/policy', text: 'reload the policy'}), '.'),
        result,
        listBox,
        editBox,
        form,
    ]);

    async function load() {
        const r = await guarded(ctx, () => api('GET', `${API}/access-groups`));
        if (!ctx.alive() || r === undefined)
            return;
        const groups = (r && r.access_groups) || [];
        const rows = groups.map((g) => {
            const actions = h('td', {class: 'actions'});
            if (g.source === 'admin') {
                append(actions, [
                    h('button', {type: 'button', class: 'small', 'data-testid': 'ag-edit',
                        'aria-label': `Edit grants of ${g.name}`, onclick: () => edit(g)}, 'Edit grants'),
                    h('button', {type: 'button', class: 'small danger', 'data-testid': 'ag-delete',
                        'aria-label': `Delete ${g.name}`, onclick: (ev) => askDelete(g, ev.currentTarget)}, 'Delete'),
                ]);
            } else {
                actions.appendChild(h('span', {class: 'muted', 'data-testid': 'ag-readonly',
                    text: 'Declared in the policy file: change it there'}));
            }
            const link = h('td', null, g.link_state ? badge(g.link_state) : '\u2013');
            if (g.idp_group)
                append(link, [' ', h('a', {href: `#/idp-groups/${encodeURIComponent(g.idp_group.id)}`, text: g.idp_group.displayName || g.idp_group.id})]);
            if (g.ambiguous && g.ambiguous.length)
                link.appendChild(h('div', {class: 'muted small', text: `also: ${g.ambiguous.map((x) => x.displayName).join(', ')}`}));
            if (g.near_matches && g.near_matches.length)
                link.appendChild(h('div', {class: 'muted small', text: `near: ${g.near_matches.map((x) => x.displayName).join(', ')}`}));
            return h('tr', {'data-testid': 'ag-row', 'data-name': g.name, 'data-source': g.source,
                'data-link-state': g.link_state || ''},
            h('th', {scope: 'row', text: g.name}),
            h('td', null, grantsList(g.grants)),
            h('td', null, h('span', {class: `badge badge-source-${g.source}`, text: g.source === 'file' ? 'policy file' : g.source})),
            link,
            actions);
        });
        clear(listBox).appendChild(table('ag-table', 'Access groups', ['Name', 'Grants', 'Source', 'Link', 'Actions'],
            rows, 'No access group yet.'));
    }

    async function create(ev) {
        ev.preventDefault();
        const body = {name: name.value.trim(), grants: ed.value()};
        const r = await guarded(ctx, () => api('POST', `${API}/access-groups`, {json: body}));
        if (!ctx.alive() || r === undefined)
            return;
        showAlert(null);
        result.textContent = `Created \u201c${r.name}\u201d (${r.link_state ? LINK_LABEL[r.link_state] || r.link_state : 'no link state'}`
            + `${r.idp_group ? ` to IdP group \u201c${r.idp_group.displayName}\u201d` : ''}).`;
        name.value = '';
        ed.reset(null);
        await load();
    }

    function edit(g) {
        clear(editBox);
        const eg = grantEditor('ag-edit', g.grants);
        const form2 = h('form', {id: 'ag-edit-form', 'data-testid': 'ag-edit-form', class: 'card',
            'aria-labelledby': 'ag-edit-h', onsubmit: async (ev) => {
                ev.preventDefault();
                const r = await guarded(ctx, () => api('PUT', `${API}/access-groups/${encodeURIComponent(g.name)}`,
                    {json: {name: g.name, grants: eg.value()}}));
                if (!ctx.alive() || r === undefined)
                    return;
                showAlert(null);
                result.textContent = `Saved the grants of \u201c${r.name}\u201d: ${grantsText(r.grants)}.`;
                clear(editBox);
                await load();
            }},
        h('h3', {id: 'ag-edit-h', text: `Edit grants of \u201c${g.name}\u201d`, tabindex: '-1'}),
        eg.el,
        h('div', {class: 'row'},
            h('button', {type: 'button', id: 'ag-edit-add-grant', 'data-testid': 'ag-edit-add-grant', onclick: eg.add}, 'Add grant'),
            h('button', {type: 'submit', id: 'ag-edit-save', 'data-testid': 'ag-edit-save', class: 'primary'}, 'Save grants'),
            h('button', {type: 'button', id: 'ag-edit-cancel', 'data-testid': 'ag-edit-cancel',
                onclick: () => clear(editBox)}, 'Cancel')));
        editBox.appendChild(form2);
        form2.querySelector('h3').focus();
    }

    function askDelete(g, btn) {
        const cell = btn.parentElement;
        const confirmBtn = h('button', {type: 'button', class: 'small danger', 'data-testid': 'ag-delete-confirm',
            onclick: async () => {
                const r = await guarded(ctx, () => api('DELETE', `${API}/access-groups/${encodeURIComponent(g.name)}`)
                    .then(() => true));
                if (!ctx.alive() || r === undefined)
                    return;
                showAlert(null);
                result.textContent = `Deleted \u201c${g.name}\u201d.`;
                await load();
            }}, `Really delete ${g.name}`);
        const cancel = h('button', {type: 'button', class: 'small', 'data-testid': 'ag-delete-cancel',
            onclick: () => load()}, 'Keep');
        clear(cell);
        append(cell, [confirmBtn, ' ', cancel]);
        confirmBtn.focus();
    }

    await load();
}

/* ------------------------------------------------------------------------------------------
 * Links
 * ------------------------------------------------------------------------------------------ */

async function viewLinks(v, _arg, ctx) {
    const sel = h('select', {id: 'links-state-filter', 'data-testid': 'links-state-filter',
        onchange: () => load()},
    h('option', {value: '', text: 'All states'}),
    LINK_STATES.map(([k, l]) => h('option', {value: k, text: l})));
    const listBox = h('div', {id: 'links-list'});
    const legend = h('details', {class: 'legend'}, h('summary', {text: 'What the states mean'}),
        h('dl', {class: 'kv'}, LINK_STATES.map(([k, , hint]) => [h('dt', null, badge(k)), h('dd', {text: hint})])));

    append(v, [
        h('p', {class: 'intro', text: 'Each access group links the IdP group with the same name (case and '
            + 'surrounding spaces ignored); the link is pinned by SCIM id, so a rename in Entra keeps it.'}),
        h('div', {class: 'toolbar'},
            h('label', {for: 'links-state-filter', text: 'State'}), sel,
            h('button', {type: 'button', id: 'links-refresh', 'data-testid': 'links-refresh', onclick: () => load()}, 'Refresh')),
        legend,
        listBox,
    ]);

    function groupList(arr) {
        if (!arr || !arr.length)
            return null;
        return h('ul', {class: 'plain small'}, arr.map((g) =>
            h('li', null, h('a', {href: `#/idp-groups/${encodeURIComponent(g.id)}`, text: g.displayName || g.id}))));
    }

    async function load() {
        const r = await guarded(ctx, () => api('GET', `${API}/links${qs({state: sel.value})}`));
        if (!ctx.alive() || r === undefined)
            return;
        const links = (r && r.links) || [];
        const rows = links.map((l) => {
            const ag = l.access_group;
            const ig = l.idp_group;
            const others = [];
            if (l.ambiguous && l.ambiguous.length)
                others.push(h('div', null, h('span', {class: 'muted', text: 'Same name: '}), groupList(l.ambiguous)));
            if (l.near_matches && l.near_matches.length)
                others.push(h('div', null, h('span', {class: 'muted', text: 'Near matches: '}), groupList(l.near_matches)));
            return h('tr', {'data-testid': 'link-row', 'data-state': l.state},
                h('td', null, badge(l.state)),
                h('th', {scope: 'row'}, ag ? [h('a', {href: '#/access-groups', text: ag.name}),
                    h('span', {class: 'muted', text: ` (${ag.source})`})] : h('span', {class: 'muted', text: 'none'})),
                h('td', null, ig ? h('a', {href: `#/idp-groups/${encodeURIComponent(ig.id)}`, text: ig.displayName || ig.id})
                    : h('span', {class: 'muted', text: 'none'})),
                h('td', null, l.linked ? timeEl(l.linked) : '\u2013'),
                h('td', null, others.length ? others : '\u2013'),
                h('td', {class: 'small', text: LINK_HINT[l.state] || ''}));
        });
        clear(listBox).appendChild(table('links-table', sel.value ? `Links: ${LINK_LABEL[sel.value] || sel.value}` : 'Links',
            ['State', 'Access group', 'IdP group', 'Linked', 'Other candidates', 'What it means'], rows,
            'No link in this state.'));
    }

    await load();
}

/* ------------------------------------------------------------------------------------------
 * Explain
 * ------------------------------------------------------------------------------------------ */

async function viewExplain(v, _arg, ctx) {
    const user = h('input', {type: 'text', id: 'explain-user', 'data-testid': 'explain-user',
        autocomplete: 'off', spellcheck: 'false', 'aria-describedby': 'explain-user-hint'});
    const dataset = h('input', {type: 'text', id: 'explain-dataset', 'data-testid': 'explain-dataset',
        required: true, autocomplete: 'off', spellcheck: 'false'});
    const action = h('select', {id: 'explain-action', 'data-testid': 'explain-action'},
        h('option', {value: 'protect', text: 'protect'}),
        h('option', {value: 'unprotect', text: 'unprotect'}));
    const token = h('textarea', {id: 'explain-token', 'data-testid': 'explain-token', rows: '3',
        autocomplete: 'off', spellcheck: 'false', 'aria-describedby': 'explain-token-hint'});
    const result = h('div', {id: 'explain-result', 'data-testid': 'explain-result', class: 'result',
        'aria-live': 'polite'});

    const form = h('form', {id: 'explain-form', class: 'card', onsubmit: submit},
        h('div', {class: 'grid3'},
            h('div', null, h('label', {for: 'explain-user', text: 'User'}), user,
                h('p', {class: 'hint', id: 'explain-user-hint', text: 'userName, externalId or SCIM id'})),
            h('div', null, h('label', {for: 'explain-dataset', text: 'Dataset'}), dataset),
            h('div', null, h('label', {for: 'explain-action', text: 'Action'}), action)),
        h('details', null, h('summary', {text: 'Or explain an access token'}),
            h('label', {for: 'explain-token', text: 'Access token (instead of a user)'}), token,
            h('p', {class: 'hint', id: 'explain-token-hint', text: 'Verified as /v1/authorize verifies it; '
                + 'sent in the request body only, never logged or stored.'})),
        h('button', {type: 'submit', id: 'explain-submit', 'data-testid': 'explain-submit', class: 'primary'}, 'Explain'));

    append(v, [
        h('p', {class: 'intro', text: 'Why a user may or may not do an action on a dataset: the same code and '
            + 'facts as /v1/authorize, with every path identity \u2192 IdP group \u2192 access group \u2192 grant.'}),
        form,
        result,
    ]);

    async function submit(ev) {
        ev.preventDefault();
        const tok = token.value.trim();
        if (!tok && !user.value.trim()) {
            showAlert('error: name a user (or paste an access token)');
            user.focus();
            return;
        }
        clear(result);
        result.appendChild(h('p', {class: 'muted', text: 'Explaining\u2026'}));
        let r;
        try {
            ctx.busy(true);
            r = tok
                ? await api('POST', `${API}/explain`, {json: {token: tok, dataset: dataset.value.trim(), action: action.value}})
                : await api('GET', `${API}/explain${qs({user: user.value.trim(), dataset: dataset.value.trim(), action: action.value})}`);
        } catch (e) {
            if (!ctx.alive())
                return;
            clear(result);
            if (e instanceof ApiError && e.status === 409 && e.body && Array.isArray(e.body.candidates)) {
                showAlert(null);
                result.appendChild(renderCandidates(e.body, user));
            } else {
                showError(e);
            }
            return;
        } finally {
            ctx.busy(false);
        }
        if (!ctx.alive())
            return;
        showAlert(null);
        clear(result);
        result.appendChild(renderExplain(r, user.value.trim()));
    }
}

function renderCandidates(body, userInput) {
    /* candidates: {by, id, userName} per attribute that matched a user, {by, reason} otherwise */
    return h('div', {class: 'warning', id: 'explain-candidates', 'data-testid': 'explain-candidates'},
        h('p', {text: `${body.message || 'The value names more than one user'}: pick one.`}),
        h('ul', {class: 'plain'}, body.candidates.map((c) => h('li', null, c.id
            ? h('button', {type: 'button', class: 'small', 'data-testid': 'explain-candidate', onclick: () => {
                userInput.value = c.id;
                $('explain-submit').click();
            }}, `${c.userName || c.id} (matched by ${c.by || '?'}) \u2013 ${c.id}`)
            : h('span', {class: 'muted', text: `${c.by || '?'}: ${c.reason || 'no match'}`})))));
}

function renderExplain(r, userText) {
    const d = r.decision || {};
    const subj = r.subject;
    const out = h('div', {class: 'explain'});
    out.appendChild(h('div', {class: `verdict ${d.allowed ? 'verdict-allowed' : 'verdict-denied'}`},
        h('h3', {id: 'explain-decision', 'data-testid': 'explain-decision', 'data-allowed': d.allowed ? 'true' : 'false',
            text: d.allowed ? 'Allowed' : 'Denied'}),
        h('p', {id: 'explain-reason', 'data-testid': 'explain-reason', text: d.reason || ''}),
        d.as_of ? h('p', {class: 'muted small', text: `As of: ${d.as_of}`}) : null));

    if (r.token)
        out.appendChild(h('p', {class: r.token.valid ? 'muted' : 'bad'},
            r.token.valid ? `Token valid (tenant ${r.token.tid || '?'}, issued ${r.token.iat ? fmtTime(r.token.iat) : '?'}, identity claim ${r.token.identity_claim || '?'}).`
                : `Token refused (${r.token.status || ''} ${r.token.error || ''}).`));

    const who = subj ? (subj.userName || subj.id) : userText || 'the token\u2019s subject';
    out.appendChild(h('h4', {text: 'Subject'}));
    if (subj) {
        out.appendChild(dl([
            ['User', h('a', {href: `#/identities/${encodeURIComponent(subj.id)}`, text: who})],
            ['Active', subj.active === false ? badge('denied', 'inactive') : badge('allowed', 'active')],
            ['Matched by', (subj.matched_by || []).join(', ') || undefined],
            ['Cut-off', subj.cut_off ? h('span', null, timeEl(subj.cut_off), subj.cut_off_applies ? ' (applies: the token is older)' : ' (does not apply)') : undefined],
        ]));
    } else {
        out.appendChild(h('p', {class: 'bad', text: `Not provisioned${r.unresolved ? `: ${typeof r.unresolved === 'string' ? r.unresolved : JSON.stringify(r.unresolved)}` : '.'}`}));
    }

    out.appendChild(h('h4', {text: 'Paths'}));
    const paths = r.paths || [];
    const target = `${r.action || ''} on ${r.dataset || ''}`;
    if (!paths.length) {
        out.appendChild(h('p', {class: 'muted', id: 'explain-paths', 'data-testid': 'explain-paths',
            text: subj ? `${who} is a member of no IdP group.` : 'No paths.'}));
    } else {
        out.appendChild(h('ol', {class: 'paths', id: 'explain-paths', 'data-testid': 'explain-paths'},
            paths.map((p) => renderPath(p, who, target))));
    }

    if (r.default_grants) {
        const dg = r.default_grants;
        out.appendChild(h('h4', {text: 'Default grants'}));
        out.appendChild(h('p', {'data-testid': 'explain-default-grants'},
            dg.applies ? badge('allowed', 'applies') : badge('neutral', 'does not apply'), ' ',
            (dg.grants && dg.grants.length) ? grantMatchList(dg.grants) : h('span', {class: 'muted', text: 'none'})));
    }

    const checks = [];
    if (r.tenant)
        checks.push(['Tenant', r.tenant.checked ? (r.tenant.mismatch ? h('span', {class: 'bad', text: `mismatch: token ${r.tenant.token_tid}, expected ${r.tenant.expected}`})
            : `checked (${r.tenant.expected || '?'})`) : 'not checked']);
    if (r.staleness)
        checks.push(['Staleness', r.staleness.stale ? h('span', {class: 'bad', text: `stale: data ${fmtAge(r.staleness.age_ms)} old (max ${fmtAge(r.staleness.max_ms)}): every decision is denied`})
            : `fresh (${fmtAge(r.staleness.age_ms)} old, max ${fmtAge(r.staleness.max_ms)})`]);
    checks.push(['Store revision', r.revision === undefined ? undefined : String(r.revision)]);
    checks.push(['Policy revision', r.policy_revision ? h('code', {text: r.policy_revision}) : undefined]);
    out.appendChild(h('h4', {text: 'Checks'}));
    out.appendChild(dl(checks));
    out.appendChild(rawDetails('explain-raw', r));
    return out;
}

function grantMatchList(grants) {
    return h('span', {class: 'grant-chain'}, grants.map((g, i) => [i ? '; ' : '',
        h('span', {class: g.matches ? 'match' : 'nomatch'}, h('code', {text: g.dataset}), `: ${(g.actions || []).join(', ')}`,
            g.matches ? ' \u2714 matches' : '')]));
}

/* identity → IdP group → access group → grant, as a chain of steps. */
function renderPath(p, who, target) {
    const res = p.result || '';
    const steps = [h('span', {class: 'step step-identity', text: who})];
    steps.push(h('span', {class: 'arrow', 'aria-hidden': 'true', text: '\u2192'}));
    steps.push(h('span', {class: 'step step-idp'}, h('span', {class: 'sr-only', text: 'IdP group '}),
        p.idp_group ? h('a', {href: `#/idp-groups/${encodeURIComponent(p.idp_group.id)}`, text: p.idp_group.displayName || p.idp_group.id}) : '?'));
    steps.push(h('span', {class: 'arrow', 'aria-hidden': 'true', text: '\u2192'}));
    const ag = p.access_group;
    if (ag) {
        steps.push(h('span', {class: 'step step-ag'}, h('span', {class: 'sr-only', text: 'access group '}),
            h('a', {href: '#/access-groups', text: ag.name}), ` (${ag.source})`,
            ag.link ? [' ', badge(ag.link)] : null,
            ag.cut_off ? h('span', {class: ag.cut_off_applies ? 'bad small' : 'muted small'},
                ` membership changed ${fmtTime(ag.cut_off)}${ag.cut_off_applies ? ' (after the token)' : ''}`) : null));
        steps.push(h('span', {class: 'arrow', 'aria-hidden': 'true', text: '\u2192'}));
        steps.push(h('span', {class: 'step step-grant'}, h('span', {class: 'sr-only', text: 'grants '}),
            (ag.grants && ag.grants.length) ? grantMatchList(ag.grants) : h('span', {class: 'muted', text: 'no grants'})));
    } else {
        steps.push(h('span', {class: 'step step-ag muted', text: p.link || 'no access group'}));
    }
    const ok = res === 'grants';
    return h('li', {class: `path ${ok ? 'path-grants' : 'path-none'}`, 'data-testid': 'explain-path', 'data-result': res},
        h('div', {class: 'chain'}, steps),
        h('div', {class: 'path-result'}, ok ? badge('allowed', `grants ${target}`) : badge('neutral', res || 'no grant')));
}

/* ------------------------------------------------------------------------------------------
 * Policy: dry run and reload
 * ------------------------------------------------------------------------------------------ */

async function viewPolicy(v, _arg, ctx) {
    const file = h('input', {type: 'file', id: 'policy-file', 'data-testid': 'policy-file',
        accept: '.json,application/json'});
    const text = h('textarea', {id: 'policy-text', 'data-testid': 'policy-text', rows: '16',
        spellcheck: 'false', autocomplete: 'off', class: 'mono', 'aria-describedby': 'policy-text-hint'});
    const result = live('policy-result');
    const reloadResult = h('div', {id: 'policy-reload-result', 'data-testid': 'policy-reload-result',
        class: 'result', 'aria-live': 'polite'});

    file.addEventListener('change', async () => {
        const f = file.files && file.files[0];
        if (!f)
            return;
        if (f.size > 1024 * 1024) {
            showAlert('error: that file is over 1 MiB: not a policy file');
            return;
        }
        text.value = await f.text();
    });

    append(v, [
        h('section', {class: 'card', 'aria-labelledby': 'policy-dry-h'},
            h('h3', {id: 'policy-dry-h', text: 'Dry run a candidate policy file'}),
            h('p', {class: 'hint', id: 'policy-text-hint', text: 'The same JSON as GATEHOUSE_POLICY. The dry run shows '
                + 'which users would gain or lose which dataset actions against the live directory; nothing is applied.'}),
            h('div', {class: 'row small'}, h('label', {for: 'policy-file', text: 'Load from a file'}), file),
            h('label', {for: 'policy-text', text: 'Candidate policy file'}),
            text,
            h('div', {class: 'row'},
                h('button', {type: 'button', id: 'policy-dry-run', 'data-testid': 'policy-dry-run', class: 'primary',
                    onclick: dryRun}, 'Dry run'))),
        result,
        h('section', {class: 'card', 'aria-labelledby': 'policy-reload-h'},
            h('h3', {id: 'policy-reload-h', text: 'Reload the policy file'}),
            h('p', {class: 'hint', text: 'Re-reads GATEHOUSE_POLICY on the server now (as SIGHUP does). It does not '
                + 'send the text above: write the candidate to the file first. A file that does not parse is refused '
                + 'and the running policy stays in force.'}),
            h('button', {type: 'button', id: 'policy-reload', 'data-testid': 'policy-reload', onclick: reload}, 'Reload policy file'),
            reloadResult),
    ]);

    async function dryRun() {
        if (!text.value.trim()) {
            showAlert('error: paste a candidate policy file first');
            text.focus();
            return;
        }
        clear(result);
        const r = await guarded(ctx, () => api('POST', `${API}/policy/dry-run`, {text: text.value}));
        if (!ctx.alive() || r === undefined)
            return;
        showAlert(null);
        clear(result).appendChild(renderDryRun(r));
    }

    async function reload() {
        clear(reloadResult);
        const r = await guarded(ctx, () => api('POST', `${API}/policy/reload`));
        if (!ctx.alive() || r === undefined)
            return;
        showAlert(null);
        append(reloadResult, [
            h('p', {class: 'ok', text: `Reloaded ${r.policy_file || 'the policy file'}: policy revision ${r.policy_revision || '?'} is in force.`}),
            dl([
                ['Access groups from the file', r.file_access_groups !== undefined ? String(r.file_access_groups) : undefined],
                ['Admin-created access groups', r.admin_access_groups !== undefined ? String(r.admin_access_groups) : undefined],
                ['Default grants', r.default_grants !== undefined ? String(r.default_grants) : undefined],
                ['Routes', r.routes !== undefined ? String(r.routes) : undefined],
                ['Policy revision', r.policy_revision ? h('code', {text: r.policy_revision}) : undefined],
            ]),
        ]);
    }
}

function actionsText(list) {
    if (!list || !list.length)
        return null;
    return h('ul', {class: 'plain small'}, list.map((x) => h('li', null, h('code', {text: x.dataset}), ` ${x.action}`)));
}

function renderDryRun(r) {
    const s = r.summary || {};
    const pr = r.policy_revision || {};
    const users = r.users || [];
    const out = h('div', {class: 'dry-run'});
    const same = pr.current && pr.current === pr.candidate;
    out.appendChild(h('h3', {text: 'Dry run result'}));
    out.appendChild(h('p', {id: 'policy-summary', 'data-testid': 'policy-summary', class: 'summary'},
        same ? 'The candidate is the running policy: nothing changes. '
            : `${s.users_changed || 0} of ${s.users || 0} users would change: ${s.gained || 0} dataset actions gained, ${s.lost || 0} lost. `,
        h('span', {class: 'muted'}, 'Policy revision ', h('code', {text: pr.current || '?'}), ' \u2192 ',
            h('code', {text: pr.candidate || '?'}), r.revision !== undefined ? ` (store revision ${r.revision})` : '')));

    const ag = s.access_groups || {};
    const changes = [];
    for (const g of ag.added || [])
        changes.push(h('tr', null, h('td', null, badge('allowed', 'added')), h('th', {scope: 'row', text: g.name}),
            h('td', null, grantsList(g.grants)),
            h('td', null, g.idp_group ? g.idp_group.displayName : '\u2013', g.link ? h('div', {class: 'muted small', text: g.link}) : null)));
    for (const g of ag.removed || [])
        changes.push(h('tr', null, h('td', null, badge('denied', 'removed')), h('th', {scope: 'row', text: g.name}),
            h('td', null, grantsList(g.grants)), h('td', {text: '\u2013'})));
    for (const g of ag.changed || [])
        changes.push(h('tr', null, h('td', null, badge('warn', 'changed')), h('th', {scope: 'row', text: g.name}),
            h('td', null, h('div', {class: 'muted small'}, `before (${g.source_before || '?'}): `, grantsText(g.grants_before)),
                h('div', {class: 'small'}, `after (${g.source || '?'}): `, grantsText(g.grants))),
            h('td', {text: '\u2013'})));
    if (changes.length)
        out.appendChild(table('policy-groups-table', 'Access group changes', ['Change', 'Access group', 'Grants', 'IdP group'], changes));
    const flags = [];
    if (s.default_grants_changed)
        flags.push('The default grants change.');
    if (s.routes_changed)
        flags.push('The routes change.');
    if (flags.length)
        out.appendChild(h('p', {class: 'warning', text: flags.join(' ')}));

    out.appendChild(table('policy-users-table', 'Users whose permissions change', ['User', 'Active', 'Gains', 'Loses'],
        users.map((u) => h('tr', {'data-testid': 'policy-user-row', 'data-user': u.userName || u.id},
            h('th', {scope: 'row'}, h('a', {href: `#/identities/${encodeURIComponent(u.id)}`, text: u.userName || u.id})),
            h('td', {text: u.active === false ? 'inactive' : 'active'}),
            h('td', {class: 'gain'}, actionsText(u.gained) || '\u2013'),
            h('td', {class: 'loss'}, actionsText(u.lost) || '\u2013'))),
        'No user gains or loses anything.'));
    return out;
}

/* ------------------------------------------------------------------------------------------
 * Decisions: the decision log's tail
 * ------------------------------------------------------------------------------------------ */

async function viewDecisions(v, _arg, ctx) {
    const user = h('input', {type: 'text', id: 'decisions-user', 'data-testid': 'decisions-user',
        autocomplete: 'off', spellcheck: 'false'});
    const dataset = h('input', {type: 'text', id: 'decisions-dataset', 'data-testid': 'decisions-dataset',
        autocomplete: 'off', spellcheck: 'false'});
    const result = h('select', {id: 'decisions-result', 'data-testid': 'decisions-result'},
        h('option', {value: '', text: 'Any'}),
        h('option', {value: 'allowed', text: 'Allowed'}),
        h('option', {value: 'denied', text: 'Denied'}));
    const limit = h('input', {type: 'number', id: 'decisions-limit', 'data-testid': 'decisions-limit',
        min: '1', max: '1000', value: '100'});
    const auto = h('input', {type: 'checkbox', id: 'decisions-auto', 'data-testid': 'decisions-auto'});
    const listBox = h('div', {id: 'decisions-list'});
    const info = h('p', {id: 'decisions-info', 'data-testid': 'decisions-info', class: 'muted', 'aria-live': 'polite'});
    let timer = null;

    const form = h('form', {id: 'decisions-form', class: 'card filters', onsubmit: (ev) => {
        ev.preventDefault();
        load();
    }},
    h('div', {class: 'grid4'},
        h('div', null, h('label', {for: 'decisions-user', text: 'User'}), user),
        h('div', null, h('label', {for: 'decisions-dataset', text: 'Dataset'}), dataset),
        h('div', null, h('label', {for: 'decisions-result', text: 'Result'}), result),
        h('div', null, h('label', {for: 'decisions-limit', text: 'At most'}), limit)),
    h('div', {class: 'row'},
        h('button', {type: 'submit', id: 'decisions-refresh', 'data-testid': 'decisions-refresh', class: 'primary'}, 'Refresh'),
        h('span', {class: 'check'}, auto, h('label', {for: 'decisions-auto', text: 'Refresh every 5 seconds'}))));

    auto.addEventListener('change', () => {
        if (timer)
            clearInterval(timer);
        timer = auto.checked ? setInterval(() => { if (ctx.alive()) load(); }, 5000) : null;
    });

    append(v, [
        h('p', {class: 'intro', text: 'The latest decisions of this replica (the last 1000, newest first), with the same fields as the decision log.'}),
        form,
        info,
        listBox,
    ]);

    async function load() {
        const n = Math.min(1000, Math.max(1, parseInt(limit.value, 10) || 100));
        const r = await guarded(ctx, () => api('GET', `${API}/decisions${qs({user: user.value.trim(),
            dataset: dataset.value.trim(), result: result.value, limit: n})}`));
        if (!ctx.alive() || r === undefined)
            return;
        const list = Array.isArray(r) ? r : (r && (r.decisions || r.items)) || [];
        const rows = list.map((d) => {
            const s = d.subject || {};
            let who = s.userName || s.id;
            if (!who && s.claims)
                who = Object.entries(s.claims).filter(([, x]) => x).map(([k, x]) => `${k}=${x}`).join(' ') || 'unknown';
            return h('tr', {'data-testid': 'decision-row', 'data-allowed': d.allowed ? 'true' : 'false'},
                h('td', null, timeEl(d.time)),
                h('th', {scope: 'row'}, s.id ? h('a', {href: `#/identities/${encodeURIComponent(s.id)}`, text: who})
                    : h('span', null, who || '\u2013', h('span', {class: 'muted', text: ' (not provisioned)'}))),
                h('td', null, h('code', {text: d.dataset || ''})),
                h('td', {text: d.action || ''}),
                h('td', null, d.allowed ? badge('allowed', 'allowed') : badge('denied', 'denied')),
                h('td', {class: 'reason', text: d.reason || ''}),
                h('td', {class: 'small'}, d.revision !== undefined ? String(d.revision) : '\u2013',
                    d.policy_revision ? h('div', null, h('code', {text: d.policy_revision})) : null));
        });
        clear(listBox).appendChild(table('decisions-table', 'Decisions, newest first',
            ['Time', 'User', 'Dataset', 'Action', 'Result', 'Reason', 'Revision / policy'], rows,
            'No decision matches (none since start, or the filters exclude them).'));
        info.textContent = `${list.length} decision${list.length === 1 ? '' : 's'}, loaded ${new Date().toLocaleTimeString()}.`;
    }

    await load();
    return () => {
        if (timer)
            clearInterval(timer);
    };
}

/* ------------------------------------------------------------------------------------------
 * Settings: what an admin copies into Entra
 * ------------------------------------------------------------------------------------------ */

async function viewSettings(v, _arg, ctx) {
    const body = h('div', {id: 'settings-body'});
    v.appendChild(h('p', {class: 'intro', text: 'What to enter in Entra ID\u2019s enterprise application (Provisioning) and how this page signs in. No secret is shown here.'}));
    v.appendChild(body);
    const s = await guarded(ctx, () => api('GET', `${API}/settings`));
    if (!ctx.alive())
        return;
    renderSettings(body, s || {});
}

async function copyText(text, statusEl, input) {
    try {
        await navigator.clipboard.writeText(text);
        statusEl.textContent = 'Copied.';
    } catch (e) {
        /* no clipboard permission (plain http, old browser): select it for Ctrl+C */
        input.focus();
        input.select();
        statusEl.textContent = 'Selected: press Ctrl+C to copy.';
    }
}

function renderSettings(body, s) {
    const scim = s.scim || {};
    const tokens = s.tokens || {};
    const admin = s.admin || {};
    const signin = admin.sign_in || {};
    const tenantUrl = scim.tenant_url || '';
    const list = (xs) => (Array.isArray(xs) && xs.length ? xs.join(', ') : null);
    const secretText = (sec) => {
        if (!sec)
            return undefined;
        if (!sec.configured)
            return h('span', {class: 'bad', text: `${sec.setting || 'not'} not set`});
        return h('span', null, h('code', {text: sec.setting || ''}),
            `: ${sec.count || 1} secret${sec.count === 1 ? '' : 's'}${list(sec.forms) ? ` (${list(sec.forms)})` : ''}`);
    };

    const urlInput = h('input', {type: 'text', id: 'settings-tenant-url', 'data-testid': 'settings-tenant-url',
        readonly: true, value: tenantUrl, class: 'mono wide', 'aria-describedby': 'settings-tenant-url-hint'});
    const copyStatus = h('span', {id: 'settings-copy-status', 'data-testid': 'settings-copy-status', 'aria-live': 'polite'});
    body.appendChild(h('section', {class: 'card', 'aria-labelledby': 'settings-scim-h'},
        h('h3', {id: 'settings-scim-h', text: 'Provisioning (SCIM)'}),
        h('label', {for: 'settings-tenant-url', text: 'Tenant URL'}),
        h('div', {class: 'row'}, urlInput,
            h('button', {type: 'button', id: 'settings-copy-tenant-url', 'data-testid': 'settings-copy-tenant-url',
                disabled: !tenantUrl, onclick: () => copyText(tenantUrl, copyStatus, urlInput)}, 'Copy'),
            copyStatus),
        h('p', {class: 'hint', id: 'settings-tenant-url-hint'}, 'In Entra ID: Enterprise application \u2192 Provisioning '
            + '\u2192 Admin Credentials \u2192 Tenant URL; the SCIM secret is the Secret Token (never shown here).',
        scim.tenant_url_from ? ` Built from ${scim.tenant_url_from}.` : ''),
        dl([['Secret Token', secretText(scim.secret), 'settings-secret-form']]),
        Array.isArray(scim.notes) && scim.notes.length
            ? h('ul', {class: 'warning notes', 'data-testid': 'settings-notes'}, scim.notes.map((n) => h('li', {text: String(n)})))
            : null));

    const rotation = Array.isArray(scim.rotation) && scim.rotation.length ? scim.rotation : [
        'Generate a new secret (at least 16 characters).',
        'Accept both: GATEHOUSE_SCIM_TOKEN=<current>,<new>, and restart (one replica at a time).',
        'In Entra ID: Provisioning \u2192 Admin Credentials \u2192 Secret Token: paste the new one, Test Connection, Save.',
        'Drop the old one: GATEHOUSE_SCIM_TOKEN=<new>, and restart.',
    ];
    body.appendChild(h('section', {class: 'card', 'aria-labelledby': 'settings-rot-h'},
        h('h3', {id: 'settings-rot-h', text: 'Rotating the SCIM secret'}),
        h('ol', {id: 'settings-rotation', 'data-testid': 'settings-rotation'}, rotation.map((x) => h('li', {text: String(x)})))));

    body.appendChild(h('section', {class: 'card', 'aria-labelledby': 'settings-tok-h'},
        h('h3', {id: 'settings-tok-h', text: 'Access tokens'}),
        tokens.configured === false ? h('p', {class: 'warning', text: 'Token validation is not configured (GATEHOUSE_OIDC_DISCOVERY).'}) : null,
        dl([
            ['Issuer', list(tokens.issuers) ? h('code', {text: list(tokens.issuers)}) : 'not known yet',
                'settings-issuer'],
            ['Issuer from', tokens.issuers_from || undefined],
            ['Audience', list(tokens.audiences) ? h('code', {text: list(tokens.audiences)}) : 'not configured', 'settings-audience'],
            ['Discovery', tokens.discovery ? h('code', {text: tokens.discovery}) : undefined],
            ['Tenant', tokens.tenant ? h('code', {text: tokens.tenant}) : undefined],
            ['Allowed tenants', list(tokens.tenants) || undefined],
            ['Algorithms', list(tokens.algorithms) || undefined],
            ['Identity claims', list(tokens.identity_claims) ? h('code', {text: list(tokens.identity_claims)}) : undefined],
        ])));

    const sess = state.session || {};
    const u = sess.user || {};
    const adminGroup = sess.admin_group || signin.admin_group;
    body.appendChild(h('section', {class: 'card', 'aria-labelledby': 'settings-signin-h'},
        h('h3', {id: 'settings-signin-h', text: 'Sign-in'}),
        dl([
            ['Signed in as', sess.via === 'token' ? 'admin token (break-glass)'
                : `${u.displayName || u.userName || u.id || '?'}${u.userName && u.displayName && u.userName !== u.displayName ? ` <${u.userName}>` : ''}`],
            ['Via', sess.via === 'token' ? 'admin token' : sess.via === 'session' ? 'Entra ID sign-in (session cookie)' : sess.via],
            ['Session expires', sess.expires && sess.via !== 'token' ? timeEl(sess.expires) : undefined],
            ['Entra ID sign-in', signin.configured === undefined ? undefined
                : signin.configured ? 'configured' : 'not configured: only the admin token works'],
            ['Admin access group', adminGroup ? h('a', {href: '#/access-groups', text: adminGroup})
                : 'not set: only the admin token works'],
            ['Client id', signin.client_id ? h('code', {text: signin.client_id}) : undefined],
            ['Client secret', signin.client_secret_set === undefined || !signin.configured ? undefined
                : signin.client_secret_set ? 'set' : 'not set (public client with PKCE)'],
            ['Redirect URI', signin.redirect_uri ? h('code', {text: signin.redirect_uri}) : undefined],
            ['Admin token', secretText(admin.token)],
        ], {id: 'settings-signin', 'data-testid': 'settings-signin'})));

    body.appendChild(rawDetails('settings-raw', s));
}

/* ------------------------------------------------------------------------------------------
 * Start
 * ------------------------------------------------------------------------------------------ */

function start() {
    $('token-form').addEventListener('submit', useToken);
    $('signout').addEventListener('click', signOut);
    $('skip-link').addEventListener('click', (ev) => {
        ev.preventDefault();
        $('view').focus();
    });
    window.addEventListener('hashchange', () => {
        if (state.session)
            route(true);
        else
            signinLinkUpdate();
    });
    checkSession();
}

start();
