# Gateway and worker image (Python 3.11). Build: docker compose build gateway
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml ./
COPY bot ./bot
COPY connectors ./connectors
COPY config ./config
COPY locales ./locales
RUN pip install --no-cache-dir . \
 && for po in locales/*/LC_MESSAGES/lotsen.po; do \
      pybabel -q compile -D lotsen -i "$po" -o "${po%.po}.mo"; done
ENV LOTSEN_HOST=0.0.0.0 LOTSEN_PORT=8080
EXPOSE 8080
USER nobody
CMD ["python", "-m", "bot", "serve"]
