# Fidelis' one image: the web server, the queue workers and the migrate job all run it.
# Built and run by compose.yaml; these build machines have no Docker (see README, Production).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    FIDELIS_VAR_DIR=/var/lib/fidelis FIDELIS_LOG_FORMAT=json
WORKDIR /app

# OpenCV (headless) and torch need these shared libraries at run time.
RUN apt-get update && apt-get install -y --no-install-recommends libglib2.0-0 libgomp1 \
    && rm -rf /var/lib/apt/lists/*

# Dependencies first, so a code change does not reinstall torch. The stamp is the one
# ./fidelis writes after an install: it then finds .venv up to date and installs nothing.
COPY requirements*.txt ./
RUN python -m venv .venv \
    && .venv/bin/pip install --no-cache-dir -r requirements.txt \
    && echo "$(cat requirements*.txt | sha256sum | cut -c1-16)-requirements.txt" > .venv/.installed

COPY . .
RUN useradd --system --home /var/lib/fidelis fidelis \
    && mkdir -p /var/lib/fidelis && chown fidelis /var/lib/fidelis
USER fidelis

EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=5s --start-period=120s \
    CMD python -c "import urllib.request as r; r.urlopen('http://127.0.0.1:8000/readyz', timeout=4)"
# Each container measures its own CPU's encoder formats once (kept in the var volume), then
# serves; `docker compose run worker` and `migrate` override the command.
CMD ["sh", "-c", "./fidelis manage encoder_formats && exec ./fidelis serve --bind 0.0.0.0:8000"]
