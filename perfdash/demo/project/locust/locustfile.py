"""The demo shop's read traffic for Locust: product lists, single products and a customer's orders,
each request named by its route so perfdash joins them with the backend's own per-route times."""

import random

from locust import HttpUser, between, task

PRODUCT_IDS = 2000
CUSTOMER_IDS = 20000


class ShopReader(HttpUser):
    wait_time = between(0.05, 0.15)

    @task(3)
    def products(self) -> None:
        self.client.get("/api/products?limit=20", name="/api/products")

    @task(5)
    def product(self) -> None:
        self.client.get(f"/api/products/{random.randint(1, PRODUCT_IDS)}", name="/api/products/{id}")

    @task(2)
    def customer_orders(self) -> None:
        self.client.get(f"/api/customers/{random.randint(1, CUSTOMER_IDS)}/orders",
                        name="/api/customers/{id}/orders")
