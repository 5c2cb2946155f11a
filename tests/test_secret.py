"""Secrets never show through str, repr, format or logs; connection strings keep all but the password."""

from __future__ import annotations

import json

from perfdash.secret import Secret, redact_url, scrub


def test_secret_redacts_everywhere() -> None:
    s = Secret("pa55word-xyz")
    assert s.reveal() == "pa55word-xyz"
    for shown in (str(s), repr(s), f"{s}", f"{s:>20}", json.dumps({"a": str(s)})):
        assert "pa55word" not in shown


def test_redact_url_keeps_host_and_database() -> None:
    assert redact_url("postgresql://app:s3cr%40t@db.local:5432/app") == \
        "postgresql://app:***@db.local:5432/app"
    assert redact_url("host=x password='a b c' dbname=y") == "host=x password=*** dbname=y"
    assert redact_url("postgresql://app@db/app") == "postgresql://app@db/app"


def test_scrub_removes_known_values_from_free_text() -> None:
    token = Secret("tok_ABCDEF123")
    text = "request failed with Authorization: Bearer tok_ABCDEF123 to postgresql://u:pw1@h/d"
    out = scrub(text, [token])
    assert "tok_ABCDEF123" not in out
    assert "pw1" not in out


def test_redact_sql_hides_password_literals() -> None:
    from perfdash.secret import redact_sql

    assert redact_sql("CREATE ROLE app LOGIN PASSWORD 'it''s-s3cret'") == \
        "CREATE ROLE app LOGIN PASSWORD '***'"
    assert redact_sql("alter user x with password $$p@ss$$ valid until 'x'") == \
        "alter user x with password '***' valid until 'x'"
    assert redact_sql("SELECT * FROM t WHERE id = $1") == "SELECT * FROM t WHERE id = $1"
