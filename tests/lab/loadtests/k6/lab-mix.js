// The lab's traffic mix: every route at once, each scenario a few users with random think time
// (closed loop: a slow route slows its own users down instead of piling requests up).
//
//   k6 run --no-usage-report -e LAB_URL=http://127.0.0.1:8300 loadtests/k6/lab-mix.js
//
// Environment: LAB_URL (required, no trailing slash), DURATION (default "30s"), REPORT_USERS
// (default 1) and REPORT_THINK_S (mean pause between reports, default 0.35).
// Thresholds are what a healthy lab (LAB_PATHOLOGIES=clean) meets on a 2-core machine.
import http from 'k6/http';
import { check, sleep } from 'k6';

const LAB_URL = __ENV.LAB_URL;
if (!LAB_URL) {
  throw new Error('LAB_URL is not set: run with -e LAB_URL=http://127.0.0.1:8300 (no trailing slash)');
}
const DURATION = __ENV.DURATION || '30s';
// More report users and less think time make a CPU-bound report saturate the event loop.
const REPORT_USERS = Number(__ENV.REPORT_USERS || 1);
const REPORT_THINK_S = Number(__ENV.REPORT_THINK_S || 0.35);

function users(exec, vus) {
  return { executor: 'constant-vus', exec, vus, duration: DURATION, gracefulStop: '5s' };
}

export const options = {
  scenarios: {
    transfers: users('transfer', 6),
    orders: users('order', 2),
    search: users('search', 1),
    events: users('events', 1),
    accounts: users('account', 2),
    quotes: users('quote', 1),
    reports: users('report', REPORT_USERS),
  },
  thresholds: {
    'http_req_failed': ['rate<0.01'],
    'checks': ['rate>0.99'],
    'http_req_duration': ['p(95)<300'],
    'http_req_duration{route:order}': ['p(95)<150'],
    'http_req_duration{route:transfer}': ['p(95)<250'],
    'http_req_duration{route:account}': ['p(95)<100'],
  },
};

const JSON_HEADERS = { 'Content-Type': 'application/json' };

function between(lo, hi) {
  return lo + Math.random() * (hi - lo);
}

function int(lo, hi) {
  return lo + Math.floor(Math.random() * (hi - lo + 1));
}

function isoDaysAgo(days) {
  return new Date(Date.now() - days * 86400 * 1000).toISOString();
}

function ok(res, route) {
  check(res, { [`${route}: 2xx`]: (r) => r.status >= 200 && r.status < 300 });
}

export function transfer() {
  const body = JSON.stringify({ from_account: int(2, 10000), amount_cents: int(100, 5000),
                                memo: `Invoice ${int(0, 24999)}` });
  const res = http.post(`${LAB_URL}/api/transfers`, body,
    { headers: JSON_HEADERS, tags: { route: 'transfer', name: '/api/transfers' } });
  ok(res, 'transfer');
  sleep(between(0.02, 0.2));
}

export function order() {
  const res = http.get(`${LAB_URL}/api/orders/${int(1, 2000)}`,
    { tags: { route: 'order', name: '/api/orders/{id}' } });
  ok(res, 'order');
  sleep(between(0.1, 0.3));
}

export function search() {
  const memo = encodeURIComponent(`invoice ${int(0, 24999)}`);
  const res = http.get(`${LAB_URL}/api/transfers/search?memo=${memo}&since=${isoDaysAgo(60)}&limit=20`,
    { tags: { route: 'search', name: '/api/transfers/search' } });
  ok(res, 'search');
  sleep(between(0.2, 0.5));
}

export function events() {
  const res = http.get(`${LAB_URL}/api/accounts/${int(2, 10000)}/events?since=${isoDaysAgo(30)}`,
    { tags: { route: 'events', name: '/api/accounts/{id}/events' } });
  ok(res, 'events');
  sleep(between(0.2, 0.5));
}

export function account() {
  const res = http.get(`${LAB_URL}/api/accounts/${int(2, 10000)}`,
    { tags: { route: 'account', name: '/api/accounts/{id}' } });
  ok(res, 'account');
  sleep(between(0.1, 0.3));
}

export function quote() {
  const res = http.get(`${LAB_URL}/api/quote`, { tags: { route: 'quote', name: '/api/quote' } });
  ok(res, 'quote');
  sleep(between(0.1, 0.3));
}

export function report() {
  const res = http.get(`${LAB_URL}/api/report`, { tags: { route: 'report', name: '/api/report' } });
  ok(res, 'report');
  sleep(between(0.5, 1.5) * REPORT_THINK_S);
}
