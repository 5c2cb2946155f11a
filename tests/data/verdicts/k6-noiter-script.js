import http from 'k6/http';
import { check, sleep } from 'k6';
export const options = { scenarios: { s: { executor: 'constant-vus', vus: 1, duration: '1s', gracefulStop: '0s' } },
  thresholds: { checks: ['rate>=0.99'], 'http_req_failed': ['rate<0.01'] } };
export default function () { sleep(10); const res = http.get(`${__ENV.BASE_URL}/health`); check(res, { 'ok': (r) => r.status === 200 }); }
