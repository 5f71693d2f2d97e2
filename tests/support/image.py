"""Facts of the service image (docker/service.Dockerfile) that deployment files rely on."""

# Settings the image fixes: the proxy, the probes and the healthcheck all expect :8000, and
# the scrape configurations the metrics on :9000, so compose and the swarm stack do not pass
# them through from the host.
IMAGE_SETTINGS = frozenset({"HOST", "PORT", "METRICS_PORT"})
