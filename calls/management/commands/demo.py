"""Start the whole product on one machine: database, demo data, PHLO simulator, app server."""

import os

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Migrate, seed the demo contact center, start the PHLO simulator in the background"
        " and serve the app (HTTP + websockets) with daphne. Demo mode only."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args, host: str, port: int, **options) -> None:
        if not settings.PHLO_SIMULATOR:
            raise CommandError(
                "The demo runs against the bundled PHLO simulator; unset PHLO_SIMULATOR or set"
                " it to 1. To serve real Plivo traffic, see 'Deploying' in the README."
            )
        base = f"http://{host}:{port}"
        if not os.environ.get("PUBLIC_BASE_URL"):
            # Callbacks go to, and are verified against, the address this demo serves on.
            settings.PUBLIC_BASE_URL = base
        call_command("migrate", interactive=False, verbosity=0)
        call_command("seed_demo", queues=True)

        from calls.simulator import Simulator

        # The simulator runs its own threaded HTTP server and callback worker, so a view that
        # calls the PHLO API never waits on a request that needs the app's worker thread.
        simulator = Simulator.from_settings()
        simulator.start(host=settings.PHLO_SIMULATOR_HOST, port=settings.PHLO_SIMULATOR_PORT)
        self.stdout.write(
            self.style.SUCCESS("\nThe contact center is starting:")
            + f"\n  Agent desktop     {base}/            (alice, bob, carol; password demo)"
            + f"\n  Admin + wallboard {base}/admin/      (sam; password demo)"
            + f"\n  Simulated phones  {simulator.base_url}/phones/"
            + f"\n  PHLO API (sim)    {simulator.api_url}\n"
        )
        try:
            call_command("runserver", f"{host}:{port}", use_reloader=False)
        finally:
            simulator.stop()
