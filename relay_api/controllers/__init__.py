"""One controller per resource; `CONTROLLERS` is what the app mounts under `/api`."""

from .activity import ActivityController
from .agents import AgentController
from .automations import AutomationController, AutomationRunController
from .commands import CommandController
from .events import EventController
from .health import HealthController
from .messages import MessageController

CONTROLLERS = [
    AgentController,
    MessageController,
    ActivityController,
    EventController,
    HealthController,
    AutomationController,
    AutomationRunController,
    CommandController,
]
