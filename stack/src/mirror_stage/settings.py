"""The launcher's own MIRROR_STAGE_* settings (read into StackLayout by
mirror_stage.stack_layout), and the test suite's; declared once, in a module light enough for
every service to load."""

from mirror_runtime import parsers
from mirror_runtime.setting import Setting, SettingGroup

DATA_DIR = Setting(
    variable="MIRROR_STAGE_DATA_DIR",
    default=".mirror-stage",
    parser=parsers.text("a directory (made when missing)"),
    meaning="the embedded stack's state (streams, database, logs); `--data-dir` comes first",
    default_text="`./.mirror-stage`",
)
NATS_SYNC_INTERVAL = Setting(
    variable="MIRROR_STAGE_NATS_SYNC_INTERVAL",
    default="always",
    parser=parsers.matching(
        r"always|[1-9][0-9]*(ms|s|m|h)", "'always' or a duration such as 100ms, 1s or 2m"
    ),
    meaning="how often the embedded nats-server forces JetStream to disk (see below)",
)

SETTINGS = SettingGroup(
    title="The launcher (`mirror-stage up`)",
    order=5,
    settings=(DATA_DIR, NATS_SYNC_INTERVAL),
)

TEST_DOCKER = Setting(
    variable="MIRROR_STAGE_TEST_DOCKER",
    default=None,
    parser=parsers.text_or_none("`1`, else unset"),
    meaning="`1` runs the test servers with testcontainers when a Docker engine answers "
    "(tests/servers.py)",
    default_text="unset",
)

TEST_SETTINGS = SettingGroup(title="The test suite", order=9, settings=(TEST_DOCKER,))
