"""Django's Redis cache, keeping one Redis client per connection pool.

Django's client makes a new `redis.Redis` for every cache call, and each one copies redis-py's table of
response callbacks (about 170 entries, every name upper-cased): a measurable share of a cached API read,
which makes three such calls. A `redis.Redis` holds no per-call state and is safe to share between
threads (its connection pool hands out the connections), so one is kept per pool."""

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient


class KeptClientRedisCacheClient(RedisCacheClient):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, object] = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params) -> None:
        super().__init__(server, params)
        self._class = KeptClientRedisCacheClient
