"""One controller per resource; `CONTROLLERS` is what the app mounts under `/api`."""

from .activity import ActivityController
from .agents import AgentController
from .broadcast import BroadcastController
from .channels import ChannelBindingController, ChannelController
from .events import EventController
from .health import HealthController
from .integrations import IntegrationController
from .messages import MessageController
from .pairs import PairController
from .tasks import TaskController

CONTROLLERS = [
    AgentController,
    MessageController,
    ActivityController,
    EventController,
    HealthController,
    TaskController,
    ChannelController,
    ChannelBindingController,
    IntegrationController,
    PairController,
    BroadcastController,
]
