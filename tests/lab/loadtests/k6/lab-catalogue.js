// The lab's catalogue routes: deadlocking swaps, a spilling leaderboard, a connection per ping, a
// leaking profile page, a rate-limited suggest box and a slow rates service, each a few users.
//
//   k6 run --no-usage-report -e LAB_URL=http://127.0.0.1:8300 loadtests/k6/lab-catalogue.js
//
// Environment: LAB_URL (required, no trailing slash), DURATION (default "20s").
import http from 'k6/http';
import { check, sleep } from 'k6';

const LAB_URL = __ENV.LAB_URL;
if (!LAB_URL) {
  throw new Error('LAB_URL is not set: run with -e LAB_URL=http://127.0.0.1:8300 (no trailing slash)');
}
const DURATION = __ENV.DURATION || '20s';

function users(exec, vus) {
  return { executor: 'constant-vus', exec, vus, duration: DURATION, gracefulStop: '5s' };
}

export const options = {
  scenarios: {
    swaps: users('swaps', 4),
    leaderboard: users('leaderboard', 1),
    pings: users('pings', 2),
    profiles: users('profiles', 2),
    suggest: users('suggest', 2),
    rates: users('rates', 2),
  },
  thresholds: {
    'http_req_duration{route:ping}': ['p(95)<500'],
  },
};

export function swaps() {
  // two pairs of accounts, each swapped both ways by different users: opposite orders meet
  const pair = __VU % 2 === 0 ? [2001, 2002] : [2002, 2001];
  const res = http.post(`${LAB_URL}/api/swap?first=${pair[0]}&second=${pair[1]}`, null,
    { tags: { route: 'swap', name: '/api/swap' } });
  check(res, { 'swap answered': (r) => r.status > 0 });
  sleep(0.02);
}

export function leaderboard() {
  const res = http.get(`${LAB_URL}/api/leaderboard`, { tags: { route: 'leaderboard', name: '/api/leaderboard' } });
  check(res, { 'leaderboard ok': (r) => r.status === 200 });
  sleep(0.2);
}

export function pings() {
  const res = http.get(`${LAB_URL}/api/ping-db`, { tags: { route: 'ping', name: '/api/ping-db' } });
  check(res, { 'ping ok': (r) => r.status === 200 });
  sleep(0.05);
}

export function profiles() {
  const res = http.get(`${LAB_URL}/api/profile`, { tags: { route: 'profile', name: '/api/profile' } });
  check(res, { 'profile ok': (r) => r.status === 200 });
  sleep(0.1);
}

export function suggest() {
  const res = http.get(`${LAB_URL}/api/suggest?q=ab`, { tags: { route: 'suggest', name: '/api/suggest' } });
  check(res, { 'suggest answered': (r) => r.status === 200 || r.status === 429 });
  sleep(0.05);
}

export function rates() {
  const res = http.get(`${LAB_URL}/api/rates`, { tags: { route: 'rates', name: '/api/rates' } });
  check(res, { 'rates ok': (r) => r.status === 200 });
  sleep(0.05);
}
