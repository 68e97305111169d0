"""One controller per resource; `CONTROLLERS` is what the app mounts under `/api`."""

from .activity import ActivityController
from .agents import AgentController
from .automations import AutomationController, AutomationRunController
from .commands import CommandController
from .connectors import ConnectorController
from .control import AgentControlController, HostController
from .events import EventController
from .health import HealthController
from .messages import MessageController
from .orchestrators import OrchestratorController
from .providers import ProviderController
from .recipes import RecipeController

CONTROLLERS = [
    AgentController,
    MessageController,
    ActivityController,
    EventController,
    HealthController,
    AutomationController,
    AutomationRunController,
    RecipeController,
    CommandController,
    AgentControlController,
    HostController,
    OrchestratorController,
    ProviderController,
    ConnectorController,
]
