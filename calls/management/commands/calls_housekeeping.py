"""End stale dialling calls (see calls.services.housekeeping), apply callbacks kept unapplied
when the database went away (calls.services.kept_callbacks), and offer again the inbound
callers left waiting with nobody ringing, giving those who waited their queue's longest wait
its exit (agents.services.routing); for cron, every minute."""

from django.core.management.base import BaseCommand, CommandError
from django.template.defaultfilters import pluralize
from django.utils import timezone

from agents.presence import agents_expire_wrap_ups
from agents.services.routing import inbound_offers_stranded, queue_exits_due
from calls.services.housekeeping import (
    calls_expire_stale_report,
    calls_stale_dialling,
    dial_grace,
)
from calls.services.kept_callbacks import callbacks_apply_kept


class Command(BaseCommand):
    help = (
        "End calls still dialling with nobody answered and no news from PHLO for"
        " CALL_DIAL_GRACE_SECONDS, so their agents are not left 'on a call'. Safe to run"
        " from several hosts at once."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Only list the calls that would be ended.",
        )

    def handle(self, *args, dry_run: bool = False, **options) -> None:
        at = timezone.now()
        grace = f"{dial_grace().total_seconds():g} s"
        if dry_run:
            stale = calls_stale_dialling(at=at)
            for call in stale:
                who = call.owner.display_name if call.owner else "no agent"
                to = call.customer.name if call.customer else "unknown customer"
                age = int((at - call.created_at).total_seconds())
                self.stdout.write(f"call #{call.pk}: {who} / {to}, dialling for {age} s")
            self.stdout.write(f"{len(stale)} call(s) dialling with no news for over {grace}.")
            return
        applied = callbacks_apply_kept(at=at)
        if applied or options["verbosity"] > 1:
            self.stdout.write(f"Applied {applied} kept callback(s) the database had refused.")
        ended = agents_expire_wrap_ups(at=at)
        if ended or options["verbosity"] > 1:
            self.stdout.write(f"Ended {ended} wrap-up(s) whose countdown had run out.")
        exits = queue_exits_due(at=at)
        if exits or options["verbosity"] > 1:
            self.stdout.write(
                f"Gave {exits} queued caller{pluralize(exits)} their queue's exit or an agent."
            )
        offered = inbound_offers_stranded(at=at)
        if offered or options["verbosity"] > 1:
            self.stdout.write(f"Offered {offered} waiting inbound call(s) again.")
        report = calls_expire_stale_report(at=at)
        if report.ended or options["verbosity"] > 1:
            self.stdout.write(
                f"Ended {len(report.ended)} call(s) dialling with no news for over {grace}"
                + (f": {', '.join(f'#{pk}' for pk in report.ended)}." if report.ended else ".")
            )
        if report.failed:
            raise CommandError(
                "Could not end call(s) "
                + ", ".join(f"#{pk}" for pk in report.failed)
                + "; see the log. The next run tries again."
            )
