import http from 'k6/http';
import ws from 'k6/ws';
import { check } from 'k6';

const BASE = __ENV.BASE_URL;
const EVENTS = __ENV.WS_URL || 'ws://localhost:8080/events';

export const options = { vus: 2, iterations: 20 };

export default function () {
  check(http.get(`${BASE}/orders/1`), { ok: (r) => r.status === 200 });
  ws.connect(EVENTS, {}, (socket) => socket.close());
}
