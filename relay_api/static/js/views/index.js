// The console's views, in navigation order. Each module exports {id, title, group, needs, create}:
// `needs` is the scope that may read it (views a token cannot read are not offered).
import activity from "./activity.js";
import agents from "./agents.js";
import api from "./api.js";
import automations from "./automations.js";
import channels from "./channels.js";
import commands from "./commands.js";
import events from "./events.js";
import integrations from "./integrations.js";
import messages from "./messages.js";
import orchestrators from "./orchestrators.js";
import pairs from "./pairs.js";
import recipes from "./recipes.js";
import system from "./system.js";
import tasks from "./tasks.js";
import tokens from "./tokens.js";

export const VIEWS = [agents, orchestrators, messages, tasks, commands, recipes, automations, channels, pairs, integrations, tokens, activity, events, system, api];
