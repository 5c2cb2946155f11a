// Throughput probe for bench/bench_observer.py: no think time, one cheap indexed endpoint, so k6 and
// the demo backend saturate the machine and any CPU perfdash takes shows up as lost requests.
import { check } from 'k6';
import http from 'k6/http';

const BASE_URL = __ENV.BASE_URL;

export default function () {
  const res = http.get(`${BASE_URL}/api/products?limit=20`, { tags: { name: 'products' } });
  check(res, { 'status 200': (r) => r.status === 200 });
}
