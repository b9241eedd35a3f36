# An offline stand-in for the official postgres image, for scripts/check-docker.sh on a machine
# that reaches no image registry: Debian's PostgreSQL on the debootstrap base, with the official
# image's interface as far as docker-compose.yml uses it (POSTGRES_USER, POSTGRES_PASSWORD,
# POSTGRES_DB on the first start, data in /var/lib/postgresql/data, pg_isready on the PATH,
# a clean shutdown on SIGINT).
ARG DEBIAN_IMAGE=debian:bookworm-slim
FROM ${DEBIAN_IMAGE}
ARG PG_MAJOR=15
# No cluster from the package's postinst: the entrypoint makes one in PGDATA on the first start.
RUN mkdir -p /etc/postgresql-common/createcluster.d \
    && echo 'create_main_cluster = false' >/etc/postgresql-common/createcluster.d/no-main.conf \
    && apt-get update \
    && apt-get install -y --no-install-recommends "postgresql-${PG_MAJOR}" \
    && rm -rf /var/lib/apt/lists/* \
    && install -d -m 0700 -o postgres -g postgres /var/lib/postgresql/data \
    && install -d -m 2775 -o postgres -g postgres /var/run/postgresql
ENV PATH=/usr/lib/postgresql/${PG_MAJOR}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PGDATA=/var/lib/postgresql/data
COPY postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint
USER postgres
# A fresh named volume takes this directory's owner and mode.
VOLUME ["/var/lib/postgresql/data"]
# SIGINT: PostgreSQL's fast shutdown (the official image's choice too).
STOPSIGNAL SIGINT
EXPOSE 5432
ENTRYPOINT ["postgres-entrypoint"]
