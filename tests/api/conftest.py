from tests.calls.conftest import desk  # noqa: F401 - the shared desk setup, used by these tests
