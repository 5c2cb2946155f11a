import http from 'k6/http';
import { check } from 'k6';

const API = __ENV.API_URL || 'http://localhost:5000';

export const options = { vus: 2, duration: '10s', thresholds: { http_req_failed: ['rate<0.01'] } };

export default function () {
  check(http.get(`${API}/items`), { 'status 200': (r) => r.status === 200 });
}
