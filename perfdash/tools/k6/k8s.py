"""The k6-operator `TestRun` for a profile: the same k6 run as local generators, on Kubernetes.

k6-operator starts `parallelism` runner pods and gives each its own `--execution-segment` and a
`--tag instance_id=<n>` (so their series never collide in Prometheus); perfdash adds what its
local generators get: `--no-thresholds`, the run id as `testid`, the profile's stages and `-e`
variables, and the Prometheus remote-write output with trends as native histograms. The run is
then followed and merged through Prometheus by `testid`, exactly as local generators are
(perfdash.tools.k6.promfollow, perfdash.tools.k6.merged).

The script travels as a ConfigMap the manifest refers to (`kubectl create configmap` prints it);
the API token as a Secret reference, never as a value.
"""

from __future__ import annotations

import re
import shlex
from typing import Any

from perfdash.settings import Environment, Profile
from perfdash.tools.k6 import command
from perfdash.tools.k6.genspec import rw_env

API_VERSION = "k6.io/v1alpha1"
TOKEN_SECRET = "perfdash-api-token"


def k8s_name(*parts: str) -> str:
    """A DNS-1123 name (lower case, digits, '-', at most 63 characters)."""
    text = re.sub(r"[^a-z0-9-]+", "-", "-".join(parts).lower()).strip("-")
    return text[:63].rstrip("-") or "perfdash"


def script_configmap(profile: Profile) -> str:
    return k8s_name("perfdash", profile.name, "script")


def arguments(profile: Profile, env: Environment, testid: str) -> list[str]:
    """What every runner pod gets after `k6 run --quiet <segment>` (the operator adds those)."""
    return ["--no-usage-report", "--no-thresholds", "--tag", f"testid={testid}",
            "-o", "experimental-prometheus-rw", *command.stage_args(profile),
            *command.env_args(profile, env.base_url)]


def operator_testrun(profile: Profile, env: Environment, testid: str, parallelism: int,
                     prometheus_url: str, namespace: str | None = None) -> dict[str, Any]:
    assert profile.k6_script is not None
    metadata: dict[str, Any] = {"name": k8s_name("perfdash", profile.name, testid),
                                "labels": {"app.kubernetes.io/managed-by": "perfdash",
                                           "perfdash/profile": k8s_name(profile.name),
                                           "perfdash/testid": k8s_name(testid)}}
    if namespace:
        metadata["namespace"] = namespace
    runner_env: list[dict[str, Any]] = [
        {"name": "K6_NO_USAGE_REPORT", "value": "true"},
        *({"name": k, "value": v} for k, v in rw_env(prometheus_url).items()),
    ]
    if env.api_token is not None:
        runner_env.append({"name": "PERF_API_TOKEN", "valueFrom": {
            "secretKeyRef": {"name": TOKEN_SECRET, "key": "token"}}})
    return {
        "apiVersion": API_VERSION,
        "kind": "TestRun",
        "metadata": metadata,
        "spec": {
            "parallelism": parallelism,
            "separate": False,
            "script": {"configMap": {"name": script_configmap(profile),
                                     "file": profile.k6_script.name}},
            "arguments": shlex.join(arguments(profile, env, testid)),
            "runner": {"env": runner_env},
        },
    }


def setup_commands(profile: Profile, env: Environment, namespace: str | None) -> list[str]:
    """The kubectl commands that create what the TestRun refers to."""
    assert profile.k6_script is not None
    ns = f" -n {shlex.quote(namespace)}" if namespace else ""
    lines = [f"kubectl{ns} create configmap {script_configmap(profile)} "
             f"--from-file={shlex.quote(str(profile.k6_script))}"]
    if env.api_token is not None:
        lines.append(f"kubectl{ns} create secret generic {TOKEN_SECRET} "
                     "--from-literal=token=\"$PERF_API_TOKEN\"")
    return lines
