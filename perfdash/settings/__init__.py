"""Settings: `profiles.toml` (committed, no secrets) and `.env.performance` (never committed) read into
typed, frozen objects.

The CLI calls `load_settings`; the orchestrator, preflight and analysis only ever see the objects
below. Every problem becomes one `SettingsError` sentence that names the file, the line or key, and
the fix, because a user staring at a traceback mid-incident fixes nothing.

Callers import from here; the modules of this package each read one part: the objects a run sees
(profile, environment, load's `Settings`), the reading of each section of profiles.toml
(*_section), the tables load tools read themselves (tool_tables) and `.env.performance` (env_file).
"""

from perfdash.settings.env_file import parse_env_text, read_env_file, read_text_utf8
from perfdash.settings.environment import Environment, HostSpec, LogKind, LogSpec
from perfdash.settings.errors import SettingsError, ToolTableError
from perfdash.settings.load import Settings, load_settings, require_external_env
from perfdash.settings.locations import CONFIG_NAME, DEMO_PROJECT, DEMO_SEED, ENV_FILE_NAME
from perfdash.settings.log_section import ACCESS_LOG_FORMATS, ACCESS_LOG_TIME_UNITS, LOG_KINDS
from perfdash.settings.profile import Generators, HostLimits, K6Stage, Profile, parse_duration
from perfdash.settings.threshold_section import threshold_problem
from perfdash.settings.tool_tables import (
    ToolTable,
    ToolTableReader,
    read_tool_tables,
    register_tool_table,
)

__all__ = [
    "ACCESS_LOG_FORMATS",
    "ACCESS_LOG_TIME_UNITS",
    "CONFIG_NAME",
    "DEMO_PROJECT",
    "DEMO_SEED",
    "ENV_FILE_NAME",
    "LOG_KINDS",
    "Environment",
    "Generators",
    "HostLimits",
    "HostSpec",
    "K6Stage",
    "LogKind",
    "LogSpec",
    "Profile",
    "Settings",
    "SettingsError",
    "ToolTable",
    "ToolTableError",
    "ToolTableReader",
    "load_settings",
    "parse_duration",
    "parse_env_text",
    "read_env_file",
    "read_text_utf8",
    "read_tool_tables",
    "register_tool_table",
    "require_external_env",
    "threshold_problem",
]
