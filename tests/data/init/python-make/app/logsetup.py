"""Plain-text logging to $LOG_DIR/app.log."""
import logging
import os

LOG_DIR = os.environ.get("LOG_DIR", "logs")
FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def configure() -> None:
    handler = logging.FileHandler(os.path.join(LOG_DIR, "app.log"))
    handler.setFormatter(logging.Formatter(FORMAT))
    logging.getLogger().addHandler(handler)
    logging.getLogger().setLevel(logging.INFO)
