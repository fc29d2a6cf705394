# syntax=docker/dockerfile:1
# Build: docker build -t mrd .    Run: docker run -p 8000:8000 -e MRD_DATABASE_URL=... mrd
FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /srv/mrd
# Dependencies first, so code changes do not reinstall them.
COPY pyproject.toml README.md ./
RUN mkdir app && touch app/__init__.py && pip install . && pip uninstall -y mass-report-detector
COPY app ./app
COPY alembic ./alembic
COPY alembic.ini ./
RUN pip install --no-deps -e .

FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    MRD_DATABASE_URL=sqlite:////var/lib/mrd/mrd.db \
    MRD_LOG_JSON=1
RUN useradd --system --uid 10001 --home-dir /var/lib/mrd --create-home mrd
COPY --from=build /opt/venv /opt/venv
COPY --from=build /srv/mrd /srv/mrd
WORKDIR /srv/mrd
USER mrd
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2).status != 200)"
ENTRYPOINT ["mrd"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
