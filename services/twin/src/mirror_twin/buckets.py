"""The twin's JetStream key-value buckets: opened if they exist, else made with as many
copies as the stack keeps of its streams (3 in a cluster)."""

from nats.js.client import JetStreamContext
from nats.js.errors import BucketNotFoundError
from nats.js.kv import KeyValue

from mirror_schema.streams import stream_replicas


async def open_bucket(js: JetStreamContext, bucket: str, *, max_bytes: int) -> KeyValue:
    """The bucket `bucket`, keeping one value per key. An existing bucket is taken as it is:
    a twin never changes what another replica, or an operator, set up."""
    try:
        return await js.key_value(bucket)
    except BucketNotFoundError:
        return await js.create_key_value(
            bucket=bucket, history=1, max_bytes=max_bytes, replicas=await stream_replicas(js)
        )
