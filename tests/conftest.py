"""Shared test configuration: the plugins every test gets.

* ``tests.support.network_guard`` fails any test that connects outside loopback.
* ``tests.support.postgres`` starts a throwaway PostgreSQL server for tests marked ``postgres``.
* ``tests.support.bot_fixtures`` serves the real bot on loopback against local fakes.
"""

pytest_plugins = [
    "tests.support.network_guard",
    "tests.support.postgres",
    "tests.support.bot_fixtures",
]
