// A shopper's journey against the perfdash demo API.
//
// The load shape (stages, VUs, duration) and the thresholds come from whoever runs the script
// (`--config`, `--stage`, ...), never from here. The target and the token come from the environment:
//
//   BASE_URL=http://127.0.0.1:8000 PERF_API_TOKEN=... \
//     k6 run --no-usage-report --vus 2 --duration 20s k6/demo-api.js
//
// Every request carries a `name` tag (products, product, customer_orders, create_order,
// report_slow, health), so thresholds such as `http_req_duration{name:products}` can be set per
// endpoint, and URLs with ids do not explode into one time series per id.

import { check, fail, group, sleep } from 'k6';
import http from 'k6/http';

const BASE_URL = (__ENV.BASE_URL || '').replace(/\/+$/, '');
const TOKEN = __ENV.PERF_API_TOKEN || '';

if (!BASE_URL) {
  throw new Error('BASE_URL is not set: pass the demo API address, e.g. BASE_URL=http://127.0.0.1:8000');
}
if (!/^https?:\/\//.test(BASE_URL)) {
  throw new Error(`BASE_URL must start with http:// or https:// (got "${BASE_URL}")`);
}
if (!TOKEN) {
  throw new Error('PERF_API_TOKEN is not set: POST /api/orders needs the API token');
}

const PRODUCT_IDS = 2000;
const CUSTOMER_IDS = 20000;
// Every 20th iteration of each VU, starting with its first: a few calls in any run, so the
// slow report shows up in pg_stat_statements whatever the run's length.
const SLOW_REPORT_EVERY = 20;

export const options = {
  // Defaults for a standalone run; perfdash passes its own `--summary-trend-stats`.
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)'],
};

function randomInt(min, max) {
  return min + Math.floor(Math.random() * (max - min + 1));
}

function think() {
  sleep(0.05 + Math.random() * 0.1);
}

function jsonBody(res) {
  try {
    return res.json();
  } catch (e) {
    return undefined;
  }
}

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

function isProduct(p) {
  return (
    isObject(p) &&
    Number.isInteger(p.id) &&
    typeof p.name === 'string' &&
    Number.isInteger(p.price_cents) &&
    Number.isInteger(p.stock)
  );
}

export function setup() {
  const res = http.get(`${BASE_URL}/health`, { tags: { name: 'health' } });
  const body = jsonBody(res);
  if (res.status !== 200 || !isObject(body) || body.status !== 'ok') {
    fail(`${BASE_URL}/health answered ${res.status} ${res.error || ''}: the demo API is not up`);
  }
}

export default function () {
  let productId = randomInt(1, PRODUCT_IDS);

  group('browse', () => {
    const offset = randomInt(0, 99) * 20;
    const res = http.get(`${BASE_URL}/api/products?limit=20&offset=${offset}`, {
      tags: { name: 'products' },
    });
    const body = jsonBody(res);
    check(res, {
      'products: status 200': (r) => r.status === 200,
      'products: items is a list of products': () =>
        isObject(body) && Array.isArray(body.items) && body.items.every(isProduct),
      'products: count matches items': () =>
        isObject(body) && Number.isInteger(body.count) && body.count >= body.items.length,
    });
    if (isObject(body) && Array.isArray(body.items) && body.items.length > 0) {
      productId = body.items[randomInt(0, body.items.length - 1)].id;
    }
    think();

    const one = http.get(`${BASE_URL}/api/products/${productId}`, { tags: { name: 'product' } });
    const product = jsonBody(one);
    check(one, {
      'product: status 200': (r) => r.status === 200,
      'product: is the requested product': () => isProduct(product) && product.id === productId,
    });
  });
  think();

  const customerId = randomInt(1, CUSTOMER_IDS);
  group('account', () => {
    const res = http.get(`${BASE_URL}/api/customers/${customerId}/orders`, {
      tags: { name: 'customer_orders' },
    });
    const body = jsonBody(res);
    check(res, {
      'customer orders: status 200': (r) => r.status === 200,
      'customer orders: items and count': () =>
        isObject(body) &&
        body.customer_id === customerId &&
        Array.isArray(body.items) &&
        body.count === body.items.length,
    });
  });
  think();

  group('checkout', () => {
    const res = http.post(
      `${BASE_URL}/api/orders`,
      JSON.stringify({ customer_id: customerId, product_id: productId, quantity: randomInt(1, 3) }),
      {
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${TOKEN}` },
        tags: { name: 'create_order' },
      },
    );
    const body = jsonBody(res);
    check(res, {
      'create order: status 201': (r) => r.status === 201,
      'create order: returns an id': () => isObject(body) && Number.isInteger(body.id),
    });
  });

  if (__ITER % SLOW_REPORT_EVERY === 0) {
    think();
    group('reports', () => {
      const res = http.get(`${BASE_URL}/api/reports/slow`, { tags: { name: 'report_slow' } });
      check(res, { 'slow report: status 200': (r) => r.status === 200 });
    });
  }

  think();
}
