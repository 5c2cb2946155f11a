import http from 'k6/http';
import { check } from 'k6';

const API = __ENV.API_URL || 'http://localhost:5000';

export default function () {
  check(http.post(`${API}/login`, { user: 'x', password: 'wrong' }), { 'is 401': (r) => r.status === 401 });
}
