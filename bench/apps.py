"""The bench app: only a switch for the what-if runs.

`BENCH_SKIP_WALLBOARD_RENDER=1` makes `calls.publishing` skip rendering the wallboard's
update on each change (wallboards then render it themselves; none is open in the bench).
It measures what that render costs the live path; production never sets it.
"""

from django.apps import AppConfig

from contactcenter.env import env_bool


class BenchConfig(AppConfig):
    name = "bench"
    label = "bench"

    def ready(self) -> None:
        if env_bool("BENCH_SKIP_WALLBOARD_RENDER", False):
            from calls import publishing

            publishing._render_wallboard = lambda **kwargs: {}
