import os
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]


def _shared_fixtures() -> Path | None:
    # Third-party inputs shared by the whole team live beside the project, never inside it. A clone
    # made elsewhere (CI) finds them through USM_SHARED_FIXTURES or the team's usual location.
    candidates = [
        os.environ.get("USM_SHARED_FIXTURES"),
        PROJECT.parent / "shared" / "fixtures",
        "/work/shared/fixtures",
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return None


@pytest.fixture
def shared_fixtures() -> Path:
    found = _shared_fixtures()
    if found is None:
        pytest.skip("the team's shared fixtures (../shared/fixtures) are not on this machine")
    return found
