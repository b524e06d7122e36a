"""Statement Monitor: watch official statements, classify their stance, alert on escalation."""

from monitor.config import Config, load_config
from monitor.errors import MonitorError
from monitor.models import Classification, Statement

__version__ = "0.1.0"
__all__ = ["Classification", "Config", "MonitorError", "Statement", "load_config", "__version__"]
