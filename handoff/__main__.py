"""`python -m handoff`: run the hub in one process (Ctrl-C or SIGTERM stops it cleanly)."""

from __future__ import annotations

import logging
import sys

from handoff.app import create_app
from handoff.settings import Settings, SettingsError


def main() -> int:
    # Sanic logs its own events; the hub's loggers get one handler of their own (no duplicates via root).
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    hub_logger = logging.getLogger("handoff")
    hub_logger.addHandler(handler)
    hub_logger.setLevel(logging.INFO)
    hub_logger.propagate = False
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    app = create_app(settings)
    app.run(host=settings.host, port=settings.port, single_process=True, access_log=False, motd=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
