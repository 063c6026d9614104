"""gunicorn's settings for `./fidelis serve`, read from the environment.

  FIDELIS_BIND            address:port to listen on (default 127.0.0.1:8000)
  FIDELIS_WEB_WORKERS     app processes (default 2); each holds its own encoder (see README)
  FIDELIS_WEB_THREADS     threads per process (default 4): searches wait on the database too
  FIDELIS_WEB_TIMEOUT_S   a request running longer than this restarts its process (default 60)
  FIDELIS_LOG_FORMAT      json: access and error lines as JSON objects, like the app's

Not preloaded: loading the app in the master would start torch's and ONNX Runtime's thread
pools there, and those are not safe to fork (a child can hang on a lock the master held), and
it would share the master's database connections with every child. Each process loads its
own copy instead, and loads the encoder before it takes requests (post_worker_init).
"""

import os

bind = [os.environ.get("FIDELIS_BIND", "127.0.0.1:8000")]
workers = int(os.environ.get("FIDELIS_WEB_WORKERS", "2"))
threads = int(os.environ.get("FIDELIS_WEB_THREADS", "4"))
timeout = int(os.environ.get("FIDELIS_WEB_TIMEOUT_S", "60"))
# SIGTERM: stop accepting, let requests in flight finish for up to this long, then exit.
graceful_timeout = int(os.environ.get("FIDELIS_WEB_GRACEFUL_TIMEOUT_S", "30"))
keepalive = 5
preload_app = False
wsgi_app = "config.wsgi:application"
accesslog = "-"
errorlog = "-"
# The control socket lives in the home folder: two servers on one machine would share it.
control_socket_disable = True
if os.environ.get("FIDELIS_LOG_FORMAT") == "json":
    logger_class = "config.gunicorn_logging.JsonLogger"


def post_worker_init(worker):
    # The first shopper should not wait for the model to load, and /readyz says ready only
    # once it has (config/health.py).
    from retrieval.encoders import get_encoder

    get_encoder()


def worker_exit(server, worker):
    # Searches and clicks still waiting for their batch are written before the worker goes.
    from analytics.recorder import recorder

    recorder.flush()
