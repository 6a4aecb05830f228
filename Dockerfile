# A container image of inventory-api: build in one stage, run the binary
# alone in a small one. SQLite, libpq and OpenSSL are built into the binary.
#   docker build -t inventory-api .
#   docker run -p 8080:8080 -v inventory:/data inventory-api
# With PostgreSQL: -e DATABASE_URL=postgres://user:password@host:5432/inventory
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin inventory-api

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --home-dir /data inventory \
    && mkdir /data && chown inventory /data
COPY --from=build /src/target/release/inventory-api /usr/local/bin/inventory-api
USER inventory
VOLUME /data
ENV INVENTORY_BIND=0.0.0.0:8080 \
    DATABASE_URL=sqlite:///data/inventory.db \
    INVENTORY_LOG_FORMAT=json
EXPOSE 8080
# SIGTERM (docker stop) ends streams, finishes requests in flight and exits 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/inventory-api"]
CMD ["serve"]
