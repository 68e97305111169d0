"""One controller per resource; `CONTROLLERS` is what the app mounts under `/api`."""

from .activity import ActivityController
from .agents import AgentController
from .automations import AutomationController, AutomationRunController
from .broadcast import BroadcastController
from .channels import ChannelBindingController, ChannelController
from .commands import CommandController
from .connectors import ConnectorController
from .control import AgentControlController, HostController
from .events import EventController
from .health import HealthController
from .integrations import IntegrationController
from .messages import MessageController
from .orchestrators import OrchestratorController
from .pairs import PairController
from .providers import ProviderController
from .recipes import RecipeController
from .system import SystemReapController
from .tasks import TaskController
from .tokens import TokenController
from .whoami import WhoamiController

CONTROLLERS = [
    AgentController,
    MessageController,
    ActivityController,
    EventController,
    HealthController,
    SystemReapController,
    AutomationController,
    AutomationRunController,
    RecipeController,
    CommandController,
    AgentControlController,
    HostController,
    OrchestratorController,
    ProviderController,
    ConnectorController,
    TaskController,
    ChannelController,
    ChannelBindingController,
    IntegrationController,
    PairController,
    BroadcastController,
    TokenController,
    WhoamiController,
]
