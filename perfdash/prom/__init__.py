"""Prometheus and node_exporter: the engines that measure machines perfdash does not run on, and
that merge k6's percentiles across generators.

`client` speaks Prometheus's HTTP query API, `exposition` reads a node_exporter's own `/metrics`
page, and `node` turns either into one host sample (CPU, memory, load, network).
"""
