from django.apps import AppConfig


class AgentsConfig(AppConfig):
    name = "agents"
    verbose_name = "Agents"

    def ready(self) -> None:
        from agents import pushes, signals  # noqa: F401  (signals: close live pages on logout)
        from agents.presence import agents_follow_call
        from calls.events import CallChanged, listen

        listen(CallChanged, agents_follow_call)  # agents follow their calls, in the change
        pushes.register()  # the desktop renders the core's events
