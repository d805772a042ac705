"""gunicorn's settings for the web process (Procfile `web:`; gunicorn reads this file
from the working directory). A request mostly waits: on Graph, and on Graph's
Retry-After for up to GRAPH_MAX_WAIT_S. So each worker process runs threads, and one
throttled request never holds a whole process (bench B4: with sync workers, 5 % of
Graph requests answered 429 cut throughput by three quarters)."""

import gc
import multiprocessing
import os

workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count() * 2 + 1)
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS") or 8)
# Above GRAPH_MAX_WAIT_S plus a Graph timeout, so gunicorn never kills a request the
# retry policy is still finishing.
timeout = 60


def post_worker_init(worker):
    """Once the worker has loaded the app: collect, then freeze what is there (modules,
    the app, its caches: ~170,000 objects that live as long as the process), so the
    garbage collector's full passes skip them. Measured in a B1 run: one full pass over
    the worker's heap cost ~78 ms of CPU, charged to whichever request triggered it;
    with the start-up objects frozen, the objects a full pass walks at the end of the same
    run were ~14,000."""
    gc.collect()
    gc.freeze()
