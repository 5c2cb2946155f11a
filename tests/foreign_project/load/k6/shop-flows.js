// shopfront load flows: people browsing the catalog, and a steady trickle of orders.
//
//   k6 run -e BASE_URL=http://127.0.0.1:3000 load/k6/shop-flows.js
//
// Environment: BASE_URL (required), SEARCH_TERM (default "blue"), DURATION (default "10s"),
// BROWSE_P95_MS (browse scenario p95 budget, default 1500).
import http from 'k6/http';
import { check, group, sleep } from 'k6';

const BASE_URL = __ENV.BASE_URL;
if (!BASE_URL) {
  throw new Error('BASE_URL is not set: run with -e BASE_URL=http://127.0.0.1:3000 (no trailing slash)');
}
const SEARCH_TERM = __ENV.SEARCH_TERM || 'blue';
const DURATION = __ENV.DURATION || '10s';

export const options = {
  scenarios: {
    browse: {
      executor: 'constant-vus',
      exec: 'browse',
      vus: 2,
      duration: DURATION,
      gracefulStop: '5s',
    },
    buy: {
      executor: 'constant-arrival-rate',
      exec: 'buy',
      rate: 2,
      timeUnit: '1s',
      duration: DURATION,
      preAllocatedVUs: 2,
      maxVUs: 4,
      gracefulStop: '5s',
    },
  },
  thresholds: {
    'http_req_duration{scenario:browse}': [`p(95)<${__ENV.BROWSE_P95_MS || 1500}`],
    'http_req_duration{name:search}': ['p(95)<2000'],
    'checks': ['rate>0.97'],
    'http_req_failed{scenario:buy}': ['rate<0.05'],
  },
};

const JSON_HEADERS = { headers: { 'Content-Type': 'application/json' } };

export function browse() {
  let picked = null;
  group('search the catalog', () => {
    const res = http.get(`${BASE_URL}/api/catalog/search?q=${encodeURIComponent(SEARCH_TERM)}`, {
      tags: { name: 'search' },
    });
    check(res, {
      'search: status 200': (r) => r.status === 200,
      'search: has items': (r) => Array.isArray(r.json('items')) && r.json('items').length > 0,
    });
    const items = res.status === 200 ? res.json('items') : [];
    if (items && items.length) picked = items[Math.floor(Math.random() * items.length)].id;
  });
  sleep(0.3);
  group('product page', () => {
    const id = picked || 1 + Math.floor(Math.random() * 50000);
    const res = http.get(`${BASE_URL}/api/catalog/${id}`, { tags: { name: 'product' } });
    check(res, {
      'product: status 200': (r) => r.status === 200,
      'product: has a price': (r) => typeof r.json('price_cents') === 'number',
    });
  });
  if (__ITER % 5 === 4) {
    group('recent orders report', () => {
      const res = http.get(`${BASE_URL}/api/reports/recent-orders`, { tags: { name: 'recent-orders' } });
      check(res, { 'report: status 200': (r) => r.status === 200 });
    });
  }
  sleep(0.5);
}

export function buy() {
  group('place an order', () => {
    const productId = 1 + Math.floor(Math.random() * 50000);
    const res = http.post(
      `${BASE_URL}/api/orders`,
      JSON.stringify({ productId, qty: 1 + Math.floor(Math.random() * 3) }),
      { ...JSON_HEADERS, tags: { name: 'order' } },
    );
    check(res, {
      'order: status 201': (r) => r.status === 201,
      'order: has an id': (r) => r.status === 201 && typeof r.json('id') === 'number',
    });
  });
}
