from django.apps import AppConfig


class WallboardConfig(AppConfig):
    """The supervisors' live wallboard: a live page over the call core, which it hears
    through `calls.publishing` like the desktop does."""

    name = "calls.wallboard"
    label = "wallboard"
    verbose_name = "Wallboard"

    def ready(self) -> None:
        from calls.wallboard import pushes

        pushes.register()
