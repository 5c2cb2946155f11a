import http from 'k6/http';
import { check, sleep } from 'k6';
import { TARGET, VUS } from './lib/config.js';

export const options = {
  scenarios: { accounts: { executor: 'constant-vus', vus: VUS, duration: '15s' } },
  thresholds: { 'http_req_duration{endpoint:account}': ['p(95)<300'] },
};

export default function () {
  const res = http.get(`${TARGET}/accounts/42`, { tags: { endpoint: 'account' } });
  check(res, { 'status 200': (r) => r.status === 200 });
  sleep(1);
}
