"""`perfdash k8s-manifest --profile P --env E`: the profile's k6 load as a k6-operator `TestRun`.

Writes the manifest (YAML) to stdout or `--output`, preceded by the kubectl commands that create
the script's ConfigMap and the token's Secret it refers to, and the testid its pods' series carry in
Prometheus, with the `perfdash attach --prometheus URL --run-id ID` command that follows the pods
live through Prometheus and writes their merged result. Nothing is applied: perfdash never talks
to a cluster itself.
"""

from __future__ import annotations

import argparse
import shlex
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from perfdash.commands import Common
from perfdash.commands.common import EXIT_USAGE, error, load_settings_for


def register(sub: Any, common: Common) -> None:
    parser = sub.add_parser(
        "k8s-manifest", help="write the profile's k6 load as a k6-operator TestRun",
        description="Writes a k6-operator TestRun for the profile's k6 script: `parallelism` "
                    "runner pods with execution segments, each with --no-thresholds, tagged with "
                    "the run id (testid) and writing to Prometheus through k6's "
                    "experimental-prometheus-rw output with trends as native histograms. "
                    "Thresholds are judged by perfdash on the merged series.")
    common(parser)
    parser.add_argument("--profile", required=True, help="the profile whose k6 load to write")
    parser.add_argument("--env", dest="environment", required=True,
                        help="the environment (its base URL, token and prometheus_url)")
    parser.add_argument("--parallelism", type=int, default=None, metavar="N",
                        help="runner pods (default: the profile's k6 generators, else 2)")
    parser.add_argument("--prometheus-url", default=None, metavar="URL",
                        help="Prometheus as the pods reach it (default: the environment's)")
    parser.add_argument("--run-id", default=None, help="the testid tag (default: a timestamp)")
    parser.add_argument("--namespace", default=None, help="the namespace of the TestRun")
    parser.add_argument("--output", "-o", type=Path, default=None,
                        help="write the manifest to this file instead of stdout")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import yaml

    from perfdash.secret import redact_url
    from perfdash.settings import SettingsError
    from perfdash.tools.k6.k8s import operator_testrun, setup_commands

    loaded = load_settings_for(args)
    if loaded is None:
        return EXIT_USAGE
    settings, _ = loaded
    try:
        profile = settings.profile(args.profile)
        env = settings.environment(args.environment)
    except SettingsError as exc:
        error(str(exc))
        return EXIT_USAGE
    if profile.k6_script is None:
        error(f"profile {profile.name!r} has no k6 script; add [profiles.{profile.name}.k6] "
              "script = \"k6/your-script.js\"")
        return EXIT_USAGE
    prometheus = args.prometheus_url or env.prometheus_url
    if not prometheus:
        error(f"environment {env.name!r} names no Prometheus for the pods to write to; add "
              f'prometheus_url = "http://HOST:9090" to [environments.{env.name}] or pass '
              "--prometheus-url")
        return EXIT_USAGE
    parallelism = args.parallelism or (profile.k6_generators
                                       if isinstance(profile.k6_generators, int)
                                       and profile.k6_generators > 1 else 2)
    if parallelism < 1:
        error(f"--parallelism {parallelism} is not a number of pods; pass 1 or more")
        return EXIT_USAGE
    testid = args.run_id or datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    manifest = operator_testrun(profile, env, testid, parallelism, prometheus, args.namespace)
    header = ["# perfdash k6-operator TestRun: create what it refers to first:",
              *(f"#   {line}" for line in setup_commands(profile, env, args.namespace)),
              f"# its pods write to {prometheus} with testid={testid}; follow them live and "
              "merge their results with:",
              f"#   perfdash attach --prometheus {shlex.quote(redact_url(prometheus))} "
              f"--run-id {shlex.quote(testid)}",
              "#   (the Prometheus as this machine reaches it, if not the same address)"]
    text = "\n".join(header) + "\n" + yaml.safe_dump(manifest, sort_keys=False)
    if args.output is None:
        print(text, end="")
        return 0
    try:
        args.output.write_text(text, encoding="utf-8")
    except OSError as exc:
        error(f"cannot write {args.output}: {exc.strerror}; choose a writable path")
        return EXIT_USAGE
    print(f"wrote {args.output} (TestRun {manifest['metadata']['name']}, parallelism "
          f"{parallelism}, testid {testid})")
    return 0
