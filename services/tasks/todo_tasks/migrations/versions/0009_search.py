"""Full-text search of a user's tasks (`?q=`): words of the title and the description, by
prefix, ignoring case and accents, in any language.

`todo_search` is the `simple` configuration (no stemming, no stop words: every language is
split into words alike) with `unaccent` before it, so "Café" is indexed as `cafe`. The
functions name what the statements and the index share:

- `task_search_document`: a task's words with positions, the title weighted A, the
  description B: what `ts_rank` ranks (the title's match above the description's).
- `task_search_keys`: the same words, each prefixed with `task_search_owner(user_id)` (8 hex
  digits of the owner's md5), indexed with GIN. A prefix query (`'<owner>groc':*`) then
  scans only the owner's entries of the index: a search costs what the owner's matches
  cost, whoever else has tasks with those words (another owner with the same 8 digits
  shares entries, and the statements' `user_id = :owner` drops those rows).
- `task_search_query`: a query from free text: its words as `to_tsvector` splits the
  documents, each a quoted prefix lexeme, ANDed; NULL when the text holds no word. The
  text is never read as query syntax, so no input can make it fail.

All IMMUTABLE (the configuration is resolved when they are created), as an index needs. The
index is built in the migration's transaction (writers wait, readers do not): 6.4 s for
150,000 tasks on the 2-core machine. `fastupdate` is off, so a search never reads a pending
list that other users' writes left behind.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FUNCTIONS = (
    """
CREATE FUNCTION task_search_owner(user_id text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN left(md5(user_id), 8)
""",
    """
CREATE FUNCTION task_search_document(title text, description text) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN setweight(to_tsvector('todo_search', coalesce(title, '')), 'A')
    || setweight(to_tsvector('todo_search', coalesce(description, '')), 'B')
""",
    """
CREATE FUNCTION task_search_keys(user_id text, title text, description text) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN array_to_tsvector(ARRAY(
    SELECT task_search_owner(user_id) || word
    FROM unnest(tsvector_to_array(task_search_document(title, description))) AS word))
""",
    # Quoted (a quote and a backslash doubled), so a word is only ever a lexeme.
    r"""
CREATE FUNCTION task_search_query(prefix text, words text) RETURNS tsquery
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN (
    SELECT string_agg(
        '''' || replace(replace(prefix || word, '\', '\\'), '''', '''''') || ''':*', ' & '
    )::tsquery
    FROM unnest(tsvector_to_array(to_tsvector('todo_search', words))) AS word)
""",
)


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
    op.execute("CREATE TEXT SEARCH CONFIGURATION todo_search (COPY = simple)")
    op.execute(
        "ALTER TEXT SEARCH CONFIGURATION todo_search"
        " ALTER MAPPING FOR word, hword, hword_part WITH unaccent, simple"
    )
    for function in _FUNCTIONS:
        op.execute(function)
    op.create_index(
        "ix_tasks_search_keys",
        "tasks",
        [sa.text("task_search_keys(user_id, title, description)")],
        postgresql_using="gin",
        postgresql_with={"fastupdate": "off"},
    )


def downgrade() -> None:
    op.drop_index("ix_tasks_search_keys", table_name="tasks")
    op.execute("DROP FUNCTION task_search_query(text, text)")
    op.execute("DROP FUNCTION task_search_keys(text, text, text)")
    op.execute("DROP FUNCTION task_search_document(text, text)")
    op.execute("DROP FUNCTION task_search_owner(text)")
    op.execute("DROP TEXT SEARCH CONFIGURATION todo_search")
