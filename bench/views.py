"""Baseline endpoints: the least a Django view (and a group_send) can cost on this server."""

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

ECHO_GROUP = "bench.{}"


@csrf_exempt
@require_POST
def bare(request: HttpRequest) -> HttpResponse:
    """Reads the form body, as the webhook does, and answers; no database, no layer."""
    return HttpResponse(f"ok {len(request.POST)}", content_type="text/plain")


@csrf_exempt
@require_POST
def echo_send(request: HttpRequest) -> HttpResponse:
    """One group_send from a sync view, as calls.publishing does after a commit."""
    group = ECHO_GROUP.format(int(request.POST["group"]))
    async_to_sync(get_channel_layer().group_send)(
        group, {"type": "bench.echo", "text": request.POST.get("text", "")}
    )
    return HttpResponse("sent", content_type="text/plain")


_SNAPSHOTS: dict = {}


@require_GET
def memory(request: HttpRequest) -> HttpResponse:
    """Where this process's memory went since the previous call (needs PYTHONTRACEMALLOC).
    Only routed when BENCH_MEMORY=1: it is a profiling aid, not for a served process."""
    import tracemalloc

    if not tracemalloc.is_tracing():
        return HttpResponse("start the process with PYTHONTRACEMALLOC=1", status=409)
    snapshot = tracemalloc.take_snapshot().filter_traces(
        [tracemalloc.Filter(False, tracemalloc.__file__)]
    )
    previous = _SNAPSHOTS.get("last")
    _SNAPSHOTS["last"] = snapshot
    if previous is None:
        return HttpResponse("baseline taken", content_type="text/plain")
    lines = [str(stat) for stat in snapshot.compare_to(previous, "lineno")[:40]]
    return HttpResponse("\n".join(lines), content_type="text/plain")
