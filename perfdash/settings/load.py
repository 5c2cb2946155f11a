"""`load_settings`: profiles.toml and `.env.performance` read into one frozen `Settings`, the only
thing the CLI hands on; every section is read by its own module of this package.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from perfdash.settings.env_file import read_env_file, read_text_utf8
from perfdash.settings.environment import Environment
from perfdash.settings.environment_section import read_environment
from perfdash.settings.errors import SettingsError
from perfdash.settings.locations import CONFIG_NAME, ENV_FILE_NAME
from perfdash.settings.profile import Profile
from perfdash.settings.profile_section import read_profile
from perfdash.settings.toml_reader import TomlReader
from perfdash.settings.tool_tables import register_tools


@dataclass(frozen=True)
class Settings:
    project_dir: Path
    config_file: Path
    results_dir: Path
    profiles: Mapping[str, Profile]
    environments: Mapping[str, Environment]

    def profile(self, name: str) -> Profile:
        if name not in self.profiles:
            raise SettingsError(
                f"{self.config_file.name} has no profile {name!r}; "
                f"choose one of: {', '.join(sorted(self.profiles))}."
            )
        return self.profiles[name]

    def environment(self, name: str) -> Environment:
        if name not in self.environments:
            raise SettingsError(
                f"{self.config_file.name} has no environment {name!r}; "
                f"choose one of: {', '.join(sorted(self.environments))}."
            )
        return self.environments[name]


def load_settings(project_dir: Path, config_file: Path | None = None,
                  env_file: Path | None = None) -> Settings:
    """Read and validate everything; raises SettingsError with a sentence for the user."""
    register_tools()
    path = config_file or project_dir / CONFIG_NAME
    if not path.is_file():
        raise SettingsError(
            f"{path} does not exist; run perfdash from the project directory that holds "
            f"{CONFIG_NAME}, or pass --config PATH."
        )
    text = read_text_utf8(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path.name} is not valid TOML: {exc}; fix the syntax there.") from None
    except RecursionError:
        raise SettingsError(f"{path.name} nests arrays or tables hundreds of levels deep, more "
                            "than TOML can be read with and far more than any setting has; fix "
                            "the file.") from None
    r = TomlReader(path, text)
    r.known(data, "", {"defaults", "profiles", "environments"})
    defaults = r.table(data, "defaults", "defaults") if "defaults" in data else {}
    results = r.str_(defaults, "defaults", "results_dir", "results/perf") or "results/perf"
    env_path = env_file or project_dir / ENV_FILE_NAME
    values = read_env_file(env_path)
    profiles_raw = r.table(data, "profiles", "profiles")
    envs_raw = r.table(data, "environments", "environments")
    if not profiles_raw:
        raise SettingsError(f"{path.name} defines no profiles; add a [profiles.smoke] table.")
    if not envs_raw:
        raise SettingsError(f"{path.name} defines no environments; add [environments.local].")
    profiles = {n: read_profile(r, project_dir, n, r.table(profiles_raw, "profiles", n))
                for n in profiles_raw}
    envs = {n: read_environment(r, project_dir, n, r.table(envs_raw, "environments", n), values)
            for n in envs_raw}
    return Settings(
        project_dir=project_dir,
        config_file=path,
        results_dir=project_dir / results,
        profiles=profiles,
        environments=envs,
    )


def require_external_env(env: Environment, env_file: Path) -> None:
    """An external environment cannot run without a base URL: say where it should come from."""
    if env.kind == "external" and not env.base_url:
        if not env_file.is_file():
            raise SettingsError(
                f"{env_file.name} not found and PERF_BASE_URL is not set for environment "
                f"{env.name!r}; copy .env.performance.example to {env_file.name} and fill it in."
            )
        raise SettingsError(
            f"{env_file.name}: PERF_BASE_URL is missing for environment {env.name!r}; "
            "add PERF_BASE_URL=http://127.0.0.1:PORT there."
        )
