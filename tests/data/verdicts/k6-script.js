import http from 'k6/http';
import { check } from 'k6';
export const options = { thresholds: { checks: ['rate>=0.99'], http_req_failed: ['rate<0.01'] } };
export default function () {
  const res = http.get(`${__ENV.BASE_URL}/api/products`, { timeout: '2s' });
  check(res, { 'status 200': (r) => r.status === 200 });
}
