"""Response headers for the bench: when a request reached Django (every phase), and its
database query count and time in the view stack (render-cost scenario only)."""

import time

from django.db import connection


def query_stats(get_response):
    def middleware(request):
        count = 0

        def counter(execute, sql, params, many, context):
            nonlocal count
            count += 1
            return execute(sql, params, many, context)

        started = time.perf_counter()
        with connection.execute_wrapper(counter):
            response = get_response(request)
        response["X-Bench-Queries"] = str(count)
        response["X-Bench-Ms"] = f"{(time.perf_counter() - started) * 1000:.3f}"
        return response

    return middleware


def request_started(get_response):
    """X-Bench-Started: the wall clock when the request reached Django (outermost), so the
    bench can split a request's time on the way (proxy, server, thread) from its time in the
    app. One clock: the load generator runs on the same machine."""

    def middleware(request):
        started = time.time()
        response = get_response(request)
        response["X-Bench-Started"] = f"{started:.6f}"
        return response

    return middleware
