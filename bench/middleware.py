"""Response headers with the request's database query count and time in the view stack
(render-cost scenario only)."""

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
