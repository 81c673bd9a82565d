"""`usm serve` refuses an address it could not listen on before starting anything."""

import pytest
from typer.testing import CliRunner

from usm.cli import app


@pytest.mark.parametrize("address", ["8000", "localhost:http", "127.0.0.1:0", "127.0.0.1:70000"])
def test_an_address_that_cannot_be_served_is_one_line_and_exit_2(address):
    result = CliRunner().invoke(app, ["serve", "--address", address])
    assert result.exit_code == 2
    assert "must be host:port" in result.output and "Traceback" not in result.output
