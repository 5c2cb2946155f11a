"""A reader that returns a TypedDict declares its file's shape twice: once for the type checker
(the TypedDict) and once for the check at the door (perfdash.shape). They must name the same
members, or the type checker vouches for a member nobody checked."""

from __future__ import annotations

from typing import get_type_hints

import pytest

from perfdash.artifacts.applog_endpoints import APPLOG, APPLOG_ROUTE, AppLogEndpoints, AppLogRoute
from perfdash.artifacts.db_activity import SAMPLE, ActivitySample
from perfdash.shape import Obj

PAIRS = [(AppLogEndpoints, APPLOG), (AppLogRoute, APPLOG_ROUTE), (ActivitySample, SAMPLE)]


@pytest.mark.parametrize(("typed", "spec"), PAIRS, ids=[t.__name__ for t, _ in PAIRS])
def test_a_readers_type_names_the_members_its_shape_checks(typed: type, spec: Obj) -> None:
    assert set(get_type_hints(typed)) == set(spec.fields)

