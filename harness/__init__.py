"""Run the product as a real deployment on this machine: several ASGI processes on
PostgreSQL + Redis (`cluster`), a load-balancing edge in front (`edge`), a small websocket
client (`wsclient`) and the database seeding they need (`seed`).

Shared by the deployment tests (tests/deploy) and the benchmark (bench/); neither imports
the other.
"""
