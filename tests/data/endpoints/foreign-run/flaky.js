// Recording helper for tests/data/endpoints: the shopfront's flaky upstream and its catalog, with
// `name` tags and thresholds on the tagged submetrics (so k6 exports them per endpoint).
import http from 'k6/http';
import { check, group, sleep } from 'k6';

const BASE_URL = __ENV.BASE_URL;

export const options = {
  vus: 3,
  duration: '10s',
  thresholds: {
    'http_req_duration{name:flaky}': ['p(95)<5000'],
    'http_reqs{name:flaky}': ['count>=0'],
    'http_req_failed{name:flaky}': ['rate<1'],
    'http_req_duration{name:/api/catalog/search}': ['p(95)<5000'],
    'http_reqs{name:/api/catalog/search}': ['count>=0'],
    'http_req_duration{group:::product page}': ['p(95)<5000'],
  },
};

export default function () {
  group('search', () => {
    const res = http.get(`${BASE_URL}/api/catalog/search?q=blue`, { tags: { name: '/api/catalog/search' } });
    check(res, { 'search: 200': (r) => r.status === 200 });
  });
  group('product page', () => {
    http.get(`${BASE_URL}/api/catalog/${1 + Math.floor(Math.random() * 500)}`);
  });
  const res = http.get(`${BASE_URL}/api/flaky?rate=0.3`, { tags: { name: 'flaky' } });
  check(res, { 'flaky: 200': (r) => r.status === 200 });
  sleep(0.2);
}
