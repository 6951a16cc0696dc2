"""Run the PHLO simulator alone, in the foreground, until Ctrl-C."""

import signal
import threading

from django.core.management.base import BaseCommand, CommandError

from calls.simulator import ChaosConfig, ConfigError, RealClock, Simulator
from calls.simulator.config import AGENT_SETTINGS, CUSTOMER_SETTINGS, ParticipantSettings


class Command(BaseCommand):
    help = (
        "Run the local PHLO simulator (PHLO API on /v1, phones page on /phones/). Defaults come"
        " from the settings (PLIVO_AUTH_ID/TOKEN, PHLO_ID, PHLO_MPC_NODE_ID, PUBLIC_BASE_URL,"
        " ROUTING_API_TOKEN, PHLO_SIMULATOR_HOST/PORT); flags override them."
    )
    requires_migrations_checks = False

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", help="interface to listen on (PHLO_SIMULATOR_HOST)")
        parser.add_argument("--port", type=int, help="port; 0 picks a free one")
        parser.add_argument("--auth-id")
        parser.add_argument("--auth-token", help="accepted Auth Token (never printed)")
        parser.add_argument("--phlo-id")
        parser.add_argument("--node-id")
        parser.add_argument("--callback-url", help="where callbacks go (the app's webhook)")
        parser.add_argument("--routing-url", help="where inbound calls ask for an agent")
        parser.add_argument("--vocabulary", choices=["phlo", "mpc"])
        parser.add_argument("--answer-delay", type=float, help="seconds before a phone answers")
        parser.add_argument("--ring-timeout", type=float, help="seconds before no-answer")
        parser.add_argument(
            "--chaos",
            help="test mode for callbacks, e.g. 'seed=7,duplicate=0.2,reorder_window=4'",
        )
        parser.add_argument(
            "--agent-settings",
            help="the Multiparty Call node's settings for agents, over"
            " 'start_on_enter=1,end_on_exit=0,stay_alone=0'",
        )
        parser.add_argument(
            "--customer-settings",
            help="the node's settings for customers, over"
            " 'start_on_enter=0,end_on_exit=1,stay_alone=0'",
        )

    def handle(self, *args, **options) -> None:
        try:
            simulator = Simulator.from_settings(
                clock=RealClock(),
                host=options["host"],
                port=options["port"],
                auth_id=options["auth_id"],
                auth_token=options["auth_token"],
                phlo_id=options["phlo_id"],
                node_id=options["node_id"],
                callback_url=options["callback_url"],
                routing_url=options["routing_url"],
                vocabulary=options["vocabulary"],
                answer_delay=options["answer_delay"],
                ring_timeout=options["ring_timeout"],
                chaos=ChaosConfig.parse(options["chaos"]) if options["chaos"] else None,
                agent=_settings(options["agent_settings"], base=AGENT_SETTINGS),
                customer=_settings(options["customer_settings"], base=CUSTOMER_SETTINGS),
            )
            simulator.start()
        except (ConfigError, TypeError) as exc:
            raise CommandError(str(exc)) from exc
        except OSError as exc:
            raise CommandError(f"Cannot listen: {exc}") from exc

        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        config = simulator.config
        self.stdout.write(
            f"PHLO simulator listening on {simulator.base_url}\n"
            f"  PHLO API     {simulator.api_url}  (Auth ID {config.auth_id})\n"
            f"  PHLO id      {config.phlo_id}, node {config.node_id}\n"
            f"  Phones page  {simulator.phones_url}\n"
            f"  Callbacks    {config.callback_url} ({config.vocabulary} vocabulary)\n"
            f"  Routing      {config.routing_url or '(none)'}\n"
            f"  Agents       {_describe(config.agent)}\n"
            f"  Customers    {_describe(config.customer)}\n"
            "Press Ctrl-C to stop."
        )
        self.stdout.flush()
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
        finally:
            simulator.stop()
            self.stdout.write("PHLO simulator stopped.")


def _settings(text: str | None, *, base: ParticipantSettings) -> ParticipantSettings | None:
    return ParticipantSettings.parse(text, base=base) if text else None


def _describe(settings: ParticipantSettings) -> str:
    return ", ".join(f"{name}={int(value)}" for name, value in settings.as_dict().items())
