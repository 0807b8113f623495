"""The services' JetStream key-value buckets: opened if they exist, else made with as many
copies as the stack keeps of its streams (3 in a cluster)."""

from typing import Final

import nats.errors
from nats.js.client import JetStreamContext
from nats.js.errors import BucketNotFoundError
from nats.js.kv import KeyValue

from mirror_runtime.retry import until_answered
from mirror_schema.streams import stream_replicas

# A cluster busy starting (every service making its consumers at once) may take longer than
# one JetStream API request's timeout to answer: asked again until this has passed.
OPEN_WITHIN_SECONDS: Final = 30.0


async def open_bucket(
    js: JetStreamContext, bucket: str, *, max_bytes: int, ttl_seconds: float | None = None
) -> KeyValue:
    """The bucket `bucket`, keeping one value per key, each removed `ttl_seconds` after its
    last write when given. An existing bucket is taken as it is: a replica never changes what
    another replica, or an operator, set up."""
    return await until_answered(
        lambda: _open(js, bucket, max_bytes, ttl_seconds),
        seconds=OPEN_WITHIN_SECONDS,
        transient=(nats.errors.TimeoutError,),
        what=f"bucket {bucket}",
    )


async def _open(
    js: JetStreamContext, bucket: str, max_bytes: int, ttl_seconds: float | None
) -> KeyValue:
    try:
        return await js.key_value(bucket)
    except BucketNotFoundError:
        return await js.create_key_value(
            bucket=bucket,
            history=1,
            max_bytes=max_bytes,
            ttl=ttl_seconds,
            replicas=await stream_replicas(js),
        )
