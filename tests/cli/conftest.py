"""The CLI tests use the shared `org` fixture (tests/conftest.py): a writable copy of the sample."""
