"""Server programs the bench runs *inside each peer's own virtualenv* (never imported here).

Each one serves ``BENCH_MODEL_PATH`` the way the peer's documentation does, on 127.0.0.1, with
the worker count and port it is given and logging at warning level.
"""
