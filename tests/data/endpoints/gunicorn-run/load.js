import http from "k6/http";
export const options = { vus: 2, iterations: 200 };
export default function () {
  http.get("http://127.0.0.1:18431/api/transfers", { tags: { name: "transfers" } });
  http.get(`http://127.0.0.1:18431/api/accounts/${__ITER}`, { tags: { name: "account" } });
}
