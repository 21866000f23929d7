"""Starting roi does not load WeasyPrint or pyHanko: a CLI command, a web worker or a writer
process pays for them only when it writes, seals or verifies a PDF."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

# One fresh interpreter does what a worker and a CLI command do at start-up, then names the
# heavy libraries it has loaded.
_START = """
import sys
from roi import create_app
import roi.cli, roi.messaging.service
create_app({"instance_path": sys.argv[1], "database_url": "sqlite://", "secret_key": "x" * 32})
print(sorted({name.split(".")[0] for name in sys.modules} & {"weasyprint", "pyhanko"}))
"""


def test_starting_the_app_and_the_cli_loads_no_pdf_library(tmp_path):
    # Given a new process that builds the app and imports the CLI and the messaging service
    result = subprocess.run(
        [sys.executable, "-c", _START, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).parent.parent.parent,
        check=False,
    )
    # Then neither WeasyPrint nor pyHanko was imported
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
