"""Redis, the job queue, reached one way by the web app and the worker: a URL, or Sentinel for failover.

Every Redis call is bounded (``redis_timeout_seconds``), and the web app's client connects on first use, so the
gateway starts, and answers, while Redis is down; what it would have queued is found again by the worker's
sweepers and relays once Redis is back.
"""

from __future__ import annotations

from arq.connections import ArqRedis, RedisSettings
from redis.asyncio.sentinel import Sentinel

from gateway.settings import Settings, SettingsError


def sentinels(settings: Settings) -> list[tuple[str, int]]:
    """``REDIS_SENTINELS`` (``host:port,host:port``) as pairs; empty when Redis is reached by its URL."""
    pairs = []
    for item in (part.strip() for part in settings.redis_sentinels.split(",")):
        if not item:
            continue
        host, _, port = item.rpartition(":")
        if not host or not port.isdigit():
            raise SettingsError(f"REDIS_SENTINELS: {item!r} is not host:port")
        pairs.append((host.strip("[]"), int(port)))
    return pairs


def redis_settings(settings: Settings) -> RedisSettings:
    """arq's connection settings: the URL's database and credentials, and the sentinels when there are some."""
    found = RedisSettings.from_dsn(settings.redis_url)
    found.conn_timeout = settings.redis_timeout_seconds  # type: ignore[assignment]
    pairs = sentinels(settings)
    if pairs:
        found.host = pairs
        found.sentinel = True
        found.sentinel_master = settings.redis_sentinel_master
    return found


def connect(settings: Settings) -> ArqRedis:
    """A client that connects lazily (and again after Redis comes back), with bounded waits."""
    config = redis_settings(settings)
    timeout = settings.redis_timeout_seconds
    options = {
        "db": config.database,
        "username": config.username,
        "password": config.password,
        "socket_connect_timeout": timeout,
        "socket_timeout": timeout,
    }
    if config.sentinel:
        assert isinstance(config.host, list)
        watch = Sentinel(config.host, socket_timeout=timeout, socket_connect_timeout=timeout)
        client: ArqRedis = watch.master_for(config.sentinel_master, redis_class=ArqRedis, **options)
    else:
        assert isinstance(config.host, str)
        client = ArqRedis(host=config.host, port=config.port, ssl=config.ssl, **options)
    client.default_queue_name = settings.queue_name
    return client
