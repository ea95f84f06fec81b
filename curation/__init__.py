"""Curation stage: datatrove pipelines that turn raw sources into curated documents and token shards."""

import os

if os.environ.get("CURATION_QUIET") == "1":  # set by curation.run; inherited by datatrove's worker processes
    from curation._logging import quiet_datatrove

    quiet_datatrove()
