import http from 'k6/http';

const BASE = __ENV.BASE_URL || 'http://localhost:3000';

export const options = { vus: 1, duration: '1h' };

export default function () {
  http.get(`${BASE}/health`);
}
